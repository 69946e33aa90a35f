// A Node process for test/model/cpu-device.test.ts: loads a model with the default device
// ('auto') and segments an image, printing the device, the load's progress and the labels as JSON.
import { readImage } from '../../src/io/image.js';
import { loadModel } from '../../src/model/model.js';

const [weights, image] = process.argv.slice(2);
const progress: string[] = [];
const model = await loadModel(weights, { onProgress: (m) => progress.push(m) });
const result = await model.segment(await readImage(image));
process.stdout.write(JSON.stringify({ device: model.deviceName, progress, classes: Array.from(result.classes) }));
model.dispose();
