// Knex (on node-postgres): migrations up, the query builder, a transaction,
// migrations down. Prints one JSON object; compat/test_node.py asserts it.
const knexFactory = require('knex');

async function main() {
  const prefix = process.env.PREFIX;
  const knex = knexFactory({
    client: 'pg',
    connection: { host: process.env.PGHOST, port: Number(process.env.PGPORT), user: 'postgres', database: 'postgres' },
    pool: { min: 1, max: 2 },
    migrations: { directory: `${__dirname}/knex_migrations`, tableName: `${prefix}_migrations` },
  });
  const out = {};
  try {
    const [, applied] = await knex.migrate.latest();
    out.applied = applied.map((f) => f.replace(/\.js$/, ''));
    const author = `${prefix}_author`;
    const book = `${prefix}_book`;
    const [ann] = await knex(author).insert({ name: 'ann' }).returning(['id', 'name']);
    out.author = ann;
    await knex(book).insert([
      { author_id: ann.id, title: 'one', price: '12.50', meta: { tags: ['a'] } },
      { author_id: ann.id, title: 'two', price: '0.10', pages: 30, available: false },
    ]);
    out.books = await knex(book)
      .join(author, `${author}.id`, `${book}.author_id`)
      .select(`${book}.title`, `${book}.price`, `${book}.pages`, `${book}.available`, `${book}.meta`, `${author}.name`)
      .orderBy(`${book}.title`);
    out.sum = (await knex(book).sum({ total: 'price' }).first()).total;
    try {
      await knex.transaction(async (trx) => {
        await trx(book).update({ pages: 99 });
        await trx(author).insert({ name: 'ann' });
      });
    } catch (e) {
      out.txError = e.code;
    }
    out.pagesAfterRollback = (await knex(book).max({ m: 'pages' }).first()).m;
    await knex(author).where({ id: ann.id }).del();
    out.booksAfterCascade = Number((await knex(book).count({ n: '*' }).first()).n);
    await knex.migrate.rollback(undefined, true);
    out.tablesAfterRollback = (await knex('pg_catalog.pg_tables')
      .where('tablename', 'like', `${prefix}_%`)
      .whereNot('tablename', 'like', `${prefix}_migrations%`)
      .select('tablename')).map((r) => r.tablename);
  } finally {
    await knex.destroy();
  }
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
