import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * vitest's order (slowest files first, by the last run's times), with the sweep scenarios at the
 * very front: they take longest and mostly wait, so they start at once and the other files fill the
 * remaining workers.
 */
export default class SweepsFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const isSweeps = (f: TestSpecification) => f.moduleId.endsWith('/test/sweeps.test.ts');
    return [...sorted.filter(isSweeps), ...sorted.filter((f) => !isSweeps(f))];
  }
}
