// A video file as the input: played (looping, muted, hidden) and detected frame after frame
// (./detection-loop.js) until #video-stop or another input.
import { hiddenVideo, loadVideo } from './sources.js';

export class VideoInput {
  #playing = null; // {video, url} of the playing video file
  #stopButton;
  #loop;
  #say;

  /** `stopButton`: #video-stop; `loop`: the DetectionLoop; `say(text)` puts a message in #message. */
  constructor(stopButton, loop, say) {
    this.#stopButton = stopButton;
    this.#loop = loop;
    this.#say = say;
    stopButton.addEventListener('click', () => loop.stopByUser());
  }

  /** Plays the video `file` (a File) and detects in it; a file that cannot play leaves the input as it was. */
  async open(file) {
    const url = URL.createObjectURL(file);
    const video = hiddenVideo();
    video.loop = true;
    try {
      await loadVideo(video, url); // before anything else changes
    } catch (e) {
      video.remove();
      URL.revokeObjectURL(url);
      return this.#say(`The video "${file.name}" cannot be played here: ${e.message}`);
    }
    const token = this.#loop.newInput();
    this.#playing = { video, url };
    this.#stopButton.disabled = false;
    try {
      await video.play();
    } catch (e) {
      this.stop();
      return this.#say(`The video "${file.name}" cannot be played here: ${e.message}`);
    }
    this.#loop.runLive(video, 'video', token);
  }

  /** Stops and forgets the playing video, if any (the loop's stopLive calls it). */
  stop() {
    if (!this.#playing) return;
    const { video, url } = this.#playing;
    this.#playing = null;
    video.pause();
    video.remove();
    URL.revokeObjectURL(url);
    this.#stopButton.disabled = true;
  }
}
