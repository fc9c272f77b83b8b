// LISTEN/NOTIFY and a Pool with parameterized queries and a transaction,
// through node-postgres. Prints one JSON line with what it observed; the
// pytest wrapper (compat/test_node.py) runs it against each server.
const { Client, Pool } = require('pg');

async function main() {
  const config = { host: process.env.PGHOST, port: Number(process.env.PGPORT), user: 'postgres', database: 'postgres' };
  const listener = new Client(config);
  const sender = new Client(config);
  await listener.connect();
  await sender.connect();
  const got = [];
  const done = new Promise((resolve) => {
    listener.on('notification', (msg) => {
      got.push([msg.channel, msg.payload, msg.processId]);
      if (got.length === 2) resolve();
    });
  });
  await listener.query('LISTEN node_ch');
  const senderPid = (await sender.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  await sender.query('BEGIN');
  await sender.query('SELECT pg_notify($1, $2)', ['node_ch', 'from tx']);
  await sender.query("NOTIFY node_ch, 'from tx'");
  await sender.query('COMMIT');
  await sender.query("NOTIFY node_ch, 'after'");
  await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 5000))]);

  const pool = new Pool({ ...config, max: 3 });
  const table = process.env.TABLE;
  await pool.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text, amount numeric(8,2))`);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`INSERT INTO ${table} VALUES ($1, $2, $3)`, [1, 'a', '1.5']);
    await client.query(`INSERT INTO ${table} VALUES ($1, $2, $3)`, [2, 'b', 2]);
    await client.query('COMMIT');
    await client.query('BEGIN');
    await client.query(`INSERT INTO ${table} VALUES ($1, $2, $3)`, [3, 'c', 3]);
    await client.query('ROLLBACK');
  } finally {
    client.release();
  }
  const rows = (await pool.query(`SELECT id, name, amount FROM ${table} WHERE id >= $1 ORDER BY id`, [1])).rows;
  let errorCode = null;
  try {
    await pool.query(`INSERT INTO ${table} VALUES ($1, $2, $3)`, [1, 'dup', 0]);
  } catch (e) {
    errorCode = e.code;
  }
  await pool.end();
  await listener.end();
  await sender.end();
  console.log(JSON.stringify({
    notifications: got.map(([channel, payload, pid]) => [channel, payload, pid === senderPid]),
    rows,
    errorCode,
  }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
