/** @mp-pay/cli: the doctor and trigger commands as functions, for tests and for scripts that prefer an API. */
export { run, processIo, type CliIo } from './cli.ts';
export { EXIT, parseParamMap, UsageError, type CommandResult } from './io.ts';
export { loadSettings, type Settings } from './config.ts';
export { diagnoseSign, type SignDiagnosis, type Finding } from './doctor/sign.ts';
export { diagnosePaySign, type PaySignDiagnosis } from './doctor/paysign.ts';
export { diagnoseV3, parseHttpRequest, type V3Diagnosis } from './doctor/v3.ts';
export { diagnoseKeys, type KeysDiagnosis } from './doctor/keys.ts';
export { runTrigger, SCENARIOS, type TriggerReport } from './trigger.ts';
