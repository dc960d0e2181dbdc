//! What scenes are drawn from: [`SceneConfig`] with its checks, and the class names.

use std::f32::consts::SQRT_2;

use crate::data::DataError;

/// Class names; label i draws shape i.
pub const SCENE_CLASSES: [&str; 6] = ["ellipse", "rectangle", "triangle", "ring", "cross", "star"];

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneConfig {
    pub width: u32,
    pub height: u32,
    /// Objects per scene, drawn uniformly from `min_objects..=max_objects`.
    pub min_objects: u32,
    pub max_objects: u32,
    /// Longer side of the unrotated shape frame in pixels, from `min_size..=max_size`
    /// (min_size >= 4, max_size * sqrt(2) <= min(width, height) so any rotation fits).
    pub min_size: u32,
    pub max_size: u32,
    /// Longer / shorter frame side is drawn from `[1, max_aspect]` (>= 1).
    pub max_aspect: f32,
    /// Use the first `classes` entries of [`SCENE_CLASSES`] (1..=6).
    pub classes: usize,
}

impl Default for SceneConfig {
    fn default() -> Self {
        Self { width: 320, height: 240, min_objects: 1, max_objects: 6, min_size: 16, max_size: 96, max_aspect: 1.6, classes: SCENE_CLASSES.len() }
    }
}

impl SceneConfig {
    /// Class names of the labels this config produces.
    pub fn class_names(&self) -> Vec<String> {
        SCENE_CLASSES[..self.classes.min(SCENE_CLASSES.len())].iter().map(|s| s.to_string()).collect()
    }

    pub(super) fn check(&self) -> Result<(), DataError> {
        let err = |msg: String| Err(DataError::SceneConfig(msg));
        if self.classes == 0 || self.classes > SCENE_CLASSES.len() {
            return err(format!("classes = {}, want 1..={}", self.classes, SCENE_CLASSES.len()));
        }
        if self.min_objects > self.max_objects {
            return err(format!("min_objects {} > max_objects {}", self.min_objects, self.max_objects));
        }
        if self.min_size < 4 || self.min_size > self.max_size {
            return err(format!("sizes {}..={}, want 4 <= min <= max", self.min_size, self.max_size));
        }
        if self.max_size as f32 * SQRT_2 > self.width.min(self.height) as f32 {
            return err(format!("max_size {} * sqrt(2) does not fit in {}x{}", self.max_size, self.width, self.height));
        }
        if !(self.max_aspect >= 1.0 && self.max_aspect.is_finite()) {
            return err(format!("max_aspect {} < 1", self.max_aspect));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic::generate_scene;

    #[test]
    fn bad_configs_are_errors() {
        let ok = SceneConfig::default();
        for bad in [
            SceneConfig { classes: 0, ..ok.clone() },
            SceneConfig { classes: 7, ..ok.clone() },
            SceneConfig { min_objects: 3, max_objects: 2, ..ok.clone() },
            SceneConfig { min_size: 3, ..ok.clone() },
            SceneConfig { min_size: 50, max_size: 40, ..ok.clone() },
            SceneConfig { max_size: 200, ..ok.clone() }, // 200 * 1.414 > 240
            SceneConfig { max_aspect: 0.5, ..ok.clone() },
            SceneConfig { max_aspect: f32::NAN, ..ok.clone() },
        ] {
            assert!(matches!(generate_scene(&bad, 0), Err(DataError::SceneConfig(_))), "{bad:?}");
        }
    }
}
