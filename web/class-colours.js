// The class colours: a detection's box and label, the model's legend and the dataset editor's
// boxes all take a class's colour from here.

const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#0b9bb5', '#f032e6', '#808000', '#9a6324', '#800000', '#469990', '#000075'];

/** The colour of class `label` (by index). */
export function classColour(label) {
  return label < PALETTE.length ? PALETTE[label] : `hsl(${(label * 137.5) % 360} 70% 40%)`;
}
