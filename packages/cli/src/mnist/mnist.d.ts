// Types for the `mnist` package (1.1.0, CommonJS, no types of its own): 10,000 real MNIST digits
// (28×28, pixels in [0, 1]) shipped as JSON, about a thousand per class.
declare module 'mnist' {
  interface MnistSample {
    /** 784 pixel intensities in [0, 1], row-major. */
    input: number[];
    /** One-hot label, 10 entries. */
    output: number[];
  }

  interface MnistDigit {
    readonly id: number;
    /** Number of samples of this digit. */
    readonly length: number;
    /** All samples of this digit, concatenated: `length × 784` numbers. */
    readonly raw: number[];
    /** One sample's pixels (a random one when `which` is missing or out of range). */
    get(which?: number): number[];
    range(start: number, end: number): number[][];
    set(start: number, end: number): MnistSample[];
  }

  interface Mnist extends ReadonlyArray<MnistDigit> {
    /** Disjoint training and test sets, shuffled with Math.random (not seedable). */
    set(training: number, test: number): { training: MnistSample[]; test: MnistSample[] };
    get(count?: number): MnistSample[];
    toNumber(output: readonly number[]): number;
  }

  const mnist: Mnist;
  export = mnist;
}
