/** The risk of what ran, on the approval's scale (`safe` … `critical`), from the effect model. */
import type { AssessedRisk, CommandEffect } from './effect.types.js';
import { worstClass } from './model.js';

const ORDER: readonly AssessedRisk[] = ['safe', 'moderate', 'destructive', 'critical'];

export function riskOfEffect(e: CommandEffect): AssessedRisk {
  const cls = worstClass(e);
  if (cls === 'destroy-data') return e.blast === 'one' ? 'destructive' : 'critical';
  if (cls === 'delete') return e.blast === 'whole' ? 'critical' : 'destructive';
  if (cls === 'scale' && e.targets.replicas === 0) return 'destructive';
  if (cls === 'restart' && e.blast === 'whole') return 'destructive';
  if (cls === 'read-only') return e.classes.includes('privilege') ? 'moderate' : 'safe';
  if (cls === 'network-egress') return 'moderate';
  return e.blast === 'whole' ? 'destructive' : 'moderate';
}

export function maxRisk(a: AssessedRisk, b: AssessedRisk): AssessedRisk {
  return ORDER.indexOf(b) > ORDER.indexOf(a) ? b : a;
}
