export * from './effect.types.js';
export { readArgv, type ArgvSpec, type ReadArgv } from './argv.js';
export { commandEffect, lineEffects, worstClass, TOOL_MODELS, type LocatedEffect } from './model.js';
export { riskOfEffect, maxRisk } from './assessed-risk.js';
export type { ToolModel } from './tool-model.js';
