//! Relations of the `litewire` schema, mapped onto litewire's own tables:
//! `litewire.outbox` is `_lw_outbox`, whose insert trigger publishes each row
//! (`sql/bootstrap.sql`), so an ORM can publish with a plain, transactional
//! INSERT; `litewire.presence` reads the realtime presence (`lw_presence()`).

use std::ops::ControlFlow;

use sqlparser::ast::{
    Ident, ObjectName, ObjectNamePart, Statement, TableAlias, TableFactor, VisitMut, VisitorMut,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::expr::object_name;

const RELATIONS: [(&str, &str); 1] = [("litewire.outbox", "_lw_outbox")];

/// Renames `litewire.*` relations in `node` to the tables behind them.
pub fn rewrite<T: VisitMut>(node: &mut T) {
    let _ = node.visit(&mut Renamer);
}

struct Renamer;

/// The relation typed in the catalog as `litewire.presence` (see
/// `store::schema`); its rows come from `lw_presence()` with values already in
/// their stored form (jsonb text, timestamptz text).
pub const PRESENCE: &str = "litewire.presence";
const PRESENCE_ROWS: &str = "SELECT json_extract(value, '$.channel') AS channel, \
     json_extract(value, '$.key') AS key, json_extract(value, '$.state') AS state, \
     json_extract(value, '$.joined_at') AS joined_at FROM json_each(lw_presence())";

/// After typing (which reads `litewire.presence` from the catalog like a
/// table), replaces it with the SQLite query that produces its rows.
pub fn expand<T: VisitMut>(node: &mut T) {
    let _ = node.visit(&mut Expander);
}

struct Expander;

impl VisitorMut for Expander {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        if object_name(name) != PRESENCE {
            return ControlFlow::Continue(());
        }
        if let Some(derived) = derived_table(PRESENCE_ROWS, alias.clone(), "presence") {
            *factor = derived;
        }
        ControlFlow::Continue(())
    }
}

impl VisitorMut for Renamer {
    type Break = ();

    fn pre_visit_relation(&mut self, relation: &mut ObjectName) -> ControlFlow<()> {
        let name = object_name(relation);
        if let Some((_, table)) = RELATIONS.iter().find(|(public, _)| *public == name) {
            *relation = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(*table))]);
        }
        ControlFlow::Continue(())
    }
}

/// `(<query>) AS alias` (the alias defaults to `name`), to stand where a table
/// was; `None` if `query` is not a single SELECT.
pub fn derived_table(query: &str, alias: Option<TableAlias>, name: &str) -> Option<TableFactor> {
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, query).ok()?;
    let (Some(Statement::Query(subquery)), true) = (statements.pop(), statements.is_empty()) else {
        return None;
    };
    Some(TableFactor::Derived {
        lateral: false,
        subquery,
        alias: Some(alias.unwrap_or(TableAlias {
            explicit: true,
            name: Ident::new(name),
            columns: vec![],
        })),
        sample: None,
    })
}
