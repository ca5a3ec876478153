import { PostgresEventStore } from '../src/postgres/postgres-event-store.js';
import { createTestDatabase } from '../../../test/support/test-database.js';
import { describeEventStoreContract } from './event-store.contract.js';

describeEventStoreContract('PostgresEventStore', async () => {
  const db = await createTestDatabase();
  const store = await PostgresEventStore.connect({ connectionString: db.url });
  return {
    store,
    async teardown() {
      await store.close();
      await db.drop();
    },
  };
});
