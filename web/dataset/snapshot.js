// A dataset photo from the camera (#dataset-snapshot): one frame as a JPEG; the camera is
// released at once.
import { cameraErrorText, hiddenVideo, openCamera } from '../sources.js';

/**
 * Takes one frame of camera `cameraId` ('' for any) and hands it to `add([file])` while `button`
 * waits; `say(text)` tells what went wrong.
 */
export async function takeSnapshot(button, cameraId, add, say) {
  button.disabled = true;
  let stream;
  let video;
  try {
    try {
      stream = await openCamera(cameraId);
    } catch (e) {
      return say(e?.name === 'NotAllowedError'
        ? 'Camera access was denied, so no snapshot was taken. Allow the camera for this page (the camera icon in the address bar or the site settings) and try again.'
        : cameraErrorText(e));
    }
    video = hiddenVideo();
    video.srcObject = stream;
    await video.play();
    for (let waited = 0; !video.videoWidth && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    if (!video.videoWidth) throw new Error('the camera gave no picture within 5 s');
    const canvas = Object.assign(document.createElement('canvas'), { width: video.videoWidth, height: video.videoHeight });
    canvas.getContext('2d').drawImage(video, 0, 0);
    const blob = await new Promise((r) => canvas.toBlob(r, 'image/jpeg', 0.92));
    if (!blob) throw new Error('the frame could not be encoded');
    const stamp = new Date().toISOString().slice(0, 19).replace('T', '-').replaceAll(':', '');
    await add([new File([blob], `webcam-${stamp}.jpg`, { type: 'image/jpeg' })]);
  } catch (e) {
    say(`The snapshot failed: ${e.message}`);
  } finally {
    for (const t of stream?.getTracks() ?? []) t.stop();
    video?.remove();
    button.disabled = false;
  }
}
