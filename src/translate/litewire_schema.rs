//! Relations of the `litewire` schema, mapped onto litewire's own tables:
//! `litewire.outbox` is `_lw_outbox`, whose insert trigger publishes each row
//! (`sql/bootstrap.sql`), so an ORM can publish with a plain, transactional INSERT.

use std::ops::ControlFlow;

use sqlparser::ast::{Ident, ObjectName, ObjectNamePart, VisitMut, VisitorMut};

use super::expr::object_name;

const RELATIONS: [(&str, &str); 1] = [("litewire.outbox", "_lw_outbox")];

/// Renames `litewire.*` relations in `node` to the tables behind them.
pub fn rewrite<T: VisitMut>(node: &mut T) {
    let _ = node.visit(&mut Renamer);
}

struct Renamer;

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
