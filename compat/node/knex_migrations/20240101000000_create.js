// Two tables; the foreign key is added by Knex as ALTER TABLE ... ADD CONSTRAINT.
exports.up = (knex) =>
  knex.schema
    .createTable(`${process.env.PREFIX}_author`, (t) => {
      t.increments('id');
      t.string('name', 50).notNullable().unique();
    })
    .createTable(`${process.env.PREFIX}_book`, (t) => {
      t.increments('id');
      t.integer('author_id').unsigned().notNullable();
      t.foreign('author_id').references(`${process.env.PREFIX}_author.id`).onDelete('CASCADE');
      t.string('title').notNullable();
      t.decimal('price', 8, 2);
      t.boolean('in_print').defaultTo(true);
      t.jsonb('meta');
      t.timestamps(true, true);
    });

exports.down = (knex) =>
  knex.schema.dropTable(`${process.env.PREFIX}_book`).dropTable(`${process.env.PREFIX}_author`);
