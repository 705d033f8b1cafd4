// `@epochcast/cli/mnist`: the data and model `epochcast demo` trains, for examples and benchmarks
// that want the same run without the notifiers.
export { CLASSES, loadMnist, MNIST_SIZE, type MnistTensors, PIXELS } from './digits.js';
export { DEMO_CONFIG, type MnistRun, mnistModel, type TrainMnistOptions, trainMnist } from './train.js';
