import { inSchema } from './schema-rewrite.js';

describe('inSchema', () => {
  it('points every read_models. prefix at the shadow schema, in identifiers and in string literals alike', () => {
    expect(
      inSchema(
        `INSERT INTO read_models.approvals SELECT * FROM read_models.executions;
         SELECT read_models.reconciliation_lock('x'), hashtextextended('read_models.reconciliation_lock:' || s, 0)`,
        'read_models_rebuild',
      ),
    ).toBe(
      `INSERT INTO read_models_rebuild.approvals SELECT * FROM read_models_rebuild.executions;
         SELECT read_models_rebuild.reconciliation_lock('x'), hashtextextended('read_models_rebuild.reconciliation_lock:' || s, 0)`,
    );
  });

  it('leaves other names alone: a longer schema name, a column called read_models_x, the live schema itself', () => {
    const sql = 'SELECT read_models_rebuild.t.a, x.read_models_count FROM read_models_rebuild.t, x';
    expect(inSchema(sql, 'read_models_rebuild')).toBe(sql);
    expect(inSchema('SELECT 1 FROM read_models.t', 'read_models')).toBe('SELECT 1 FROM read_models.t');
  });
});
