/** @module The scheduler over an orchestrator: fires the schedules' workflows and delivers their reports. */
import type { Orchestrator } from '../orchestrator/index.js';
import type { App, Schedule, Scheduler } from '../triggers/index.js';
import { layer } from './layers.js';

export async function schedulerFor(app: App, orchestrator: Orchestrator, schedules: readonly Schedule[]): Promise<Scheduler> {
  const { Scheduler, deliverReport, scheduledInput } = await layer('schedule');
  const runs = app.runs();
  return new Scheduler({
    schedules,
    clock: app.clock,
    state: app.scheduleState(),
    launch: (schedule) => {
      const { workflow, input } = scheduledInput(schedule, app.clock.now());
      return orchestrator.start(workflow, input);
    },
    findRun: (runId) => runs.get(runId),
    report: deliverReport({ poster: app.slackPoster(), logger: app.logger }),
    logger: app.logger,
  });
}
