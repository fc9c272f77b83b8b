// A second migration: a new column with a default, an index, a renamed column.
exports.up = (knex) =>
  knex.schema.alterTable(`${process.env.PREFIX}_book`, (t) => {
    t.integer('pages').notNullable().defaultTo(0);
    t.index(['title'], `${process.env.PREFIX}_book_title`);
    t.renameColumn('in_print', 'available');
  });

exports.down = (knex) =>
  knex.schema.alterTable(`${process.env.PREFIX}_book`, (t) => {
    t.renameColumn('available', 'in_print');
    t.dropIndex(['title'], `${process.env.PREFIX}_book_title`);
    t.dropColumn('pages');
  });
