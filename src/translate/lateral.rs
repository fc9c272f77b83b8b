//! `LATERAL`: a subquery (or set-returning function) in FROM that reads the
//! tables to its left, run once per row of them. SQLite has no LATERAL and a
//! subquery in FROM cannot see its siblings, but a table-valued function in
//! FROM may take them as arguments, and a correlated scalar subquery may sit
//! in that argument. So
//!
//! ```sql
//! FROM users u LEFT JOIN LATERAL (SELECT total FROM orders o
//!     WHERE o.user_id = u.id ORDER BY total DESC LIMIT 2) s ON true
//! ```
//!
//! becomes
//!
//! ```sql
//! FROM users u LEFT JOIN json_each((SELECT json_group_array(lw_row(lw_lateral."total"))
//!     FROM (SELECT total AS "total" FROM orders o WHERE ... LIMIT 2) AS lw_lateral)) AS s ON true
//! ```
//!
//! and `s.total` reads `lw_field(s.value, 0)`: each row is packed whole
//! (`store::rows`), so values come back with their exact SQLite value, and an
//! empty subquery is an empty array, which LEFT JOIN pads with NULLs.
//!
//! It runs in two passes around typing. [`prepare`] names the subquery's
//! columns (`AS s(a, b)`, `*`) and expands `*` in the SELECT that holds it,
//! so the typer records the lateral columns' Postgres types as for any
//! subquery in FROM. [`finish`] then turns the typed statement into the
//! `json_each` form, giving numeric and interval columns back the collation
//! their stored text compares by. A reference the rewrite cannot place (an
//! unqualified name that `json_each`'s own columns, `id`, `key`, `value`...,
//! would capture) is refused with 0A000 rather than read the wrong column.

use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, Ident, JoinOperator, ObjectName, ObjectNamePart, OrderByKind, Query, Select, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, Statement, TableAlias, TableFactor, Visit, VisitMut,
    VisitorMut, visit_expressions,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::expr::{Typer, call, column_name, number, object_name};
use super::{ident_text, quote_ident};
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::types::{ColumnType, PgType};

/// The columns of `json_each`, which an unqualified name beside it could mean.
const JSON_EACH_COLUMNS: [&str; 10] = [
    "key", "value", "type", "atom", "id", "parent", "fullkey", "path", "json", "root",
];

/// The alias of the packed subquery inside `json_each`.
const PACKED: &str = "lw_lateral";

/// Whether function arguments read a column, which makes a function in FROM
/// lateral (Postgres lets any function in FROM read the tables to its left).
pub(super) fn reads_columns<V: Visit>(node: &V) -> bool {
    visit_expressions(node, |e| match e {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// Before typing: names every lateral subquery's columns and expands `*` in
/// the SELECT beside it.
pub fn prepare(statement: &mut Statement, catalog: &Catalog) -> Result<()> {
    super::visit(statement, &mut Prepare { catalog })
}

/// After typing: every lateral subquery becomes `json_each` over its packed
/// rows, and the references to its columns unpack them.
pub fn finish(statement: &mut Statement, typer: &Typer<'_>) -> Result<()> {
    super::visit(statement, &mut Finish { typer })?;
    super::visit(statement, &mut Leftover)
}

struct Prepare<'a> {
    catalog: &'a Catalog,
}

impl VisitorMut for Prepare<'_> {
    type Break = Error;

    /// Post-order: a lateral subquery's own laterals are named before it.
    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<Error> {
        let mut run = || {
            for select in selects(&mut query.body) {
                if !has_lateral(select)? {
                    continue;
                }
                for (factor, join) in factors(select) {
                    if let TableFactor::Derived {
                        lateral: true,
                        subquery,
                        alias,
                        ..
                    } = factor
                    {
                        let alias = alias
                            .as_mut()
                            .ok_or_else(|| Error::syntax("subquery in FROM must have an alias"))?;
                        refuse_join(join)?;
                        name_columns(subquery, alias, self.catalog)?;
                    }
                }
                expand_wildcards(select, self.catalog)?;
            }
            Ok(())
        };
        match run() {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }
}

/// Whether a SELECT has a lateral subquery in FROM; a lateral function that
/// is not one litewire knows (`srf` turned the others into subqueries) is
/// refused.
fn has_lateral(select: &mut Select) -> Result<bool> {
    let mut found = false;
    for (factor, _) in factors(select) {
        match factor {
            TableFactor::Derived { lateral: true, .. } => found = true,
            TableFactor::Function { name, .. } => {
                return Err(Error::unsupported(format!(
                    "LATERAL {}() in FROM",
                    object_name(name)
                )));
            }
            _ => {}
        }
    }
    Ok(found)
}

/// RIGHT and FULL joins cannot reach a lateral subquery in Postgres either;
/// SQLite's table-valued functions take the INNER and LEFT ones.
fn refuse_join(join: Option<&JoinOperator>) -> Result<()> {
    match join {
        Some(
            JoinOperator::Right(_)
            | JoinOperator::RightOuter(_)
            | JoinOperator::FullOuter(_)
            | JoinOperator::RightSemi(_)
            | JoinOperator::RightAnti(_),
        ) => Err(Error::unsupported("RIGHT or FULL JOIN beside LATERAL")),
        _ => Ok(()),
    }
}

/// Gives each result column of a lateral subquery its final name as an
/// explicit alias: `AS s(a, b)` renames them (the rest keep theirs), `*` is
/// expanded. The typer then records them under those names, and [`finish`]
/// packs them by name.
fn name_columns(subquery: &mut Query, alias: &mut TableAlias, catalog: &Catalog) -> Result<()> {
    // SQLite evaluates LIMIT and OFFSET once, before any outer row.
    if subquery.limit_clause.as_ref().is_some_and(reads_columns) {
        return Err(Error::unsupported(
            "LIMIT or OFFSET reading a column in a LATERAL subquery",
        ));
    }
    let Some(select) = selects(&mut subquery.body).into_iter().next() else {
        return Err(Error::unsupported("LATERAL over VALUES"));
    };
    expand_wildcards(select, catalog)?;
    let given: Vec<String> = alias
        .columns
        .drain(..)
        .map(|c| ident_text(&c.name))
        .collect();
    if given.len() > select.projection.len() {
        return Err(Error::unsupported(format!(
            "more column aliases than columns for \"{}\"",
            ident_text(&alias.name)
        )));
    }
    for (i, item) in select.projection.iter_mut().enumerate() {
        let (expr, name) = match item {
            SelectItem::UnnamedExpr(e) => (e.clone(), column_name(e)),
            SelectItem::ExprWithAlias { expr, alias } => (expr.clone(), ident_text(alias)),
            other => return Err(Error::unsupported(format!("{other} in a LATERAL subquery"))),
        };
        *item = SelectItem::ExprWithAlias {
            expr,
            alias: Ident::with_quote('"', given.get(i).cloned().unwrap_or(name)),
        };
    }
    Ok(())
}

/// Expands `*` and `alias.*` in a SELECT that has a lateral subquery (whose
/// `*` SQLite would expand into `json_each`'s columns); every source in its
/// FROM must then have known columns.
fn expand_wildcards(select: &mut Select, catalog: &Catalog) -> Result<()> {
    let wildcard = |item: &SelectItem| {
        matches!(
            item,
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
        )
    };
    if !select.projection.iter().any(wildcard) {
        return Ok(());
    }
    let sources = factors(select)
        .into_iter()
        .map(|(factor, _)| source_columns(factor, catalog))
        .collect::<Result<Vec<_>>>()?;
    let mut expanded = Vec::new();
    for item in std::mem::take(&mut select.projection) {
        let wanted: Option<String> = match &item {
            SelectItem::Wildcard(_) => None,
            SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(name), _) => {
                Some(object_name(name))
            }
            SelectItem::QualifiedWildcard(..) => return Err(Error::unsupported(item.to_string())),
            _ => {
                expanded.push(item);
                continue;
            }
        };
        for (key, columns) in &sources {
            if wanted.as_ref().is_none_or(|w| w.eq_ignore_ascii_case(key)) {
                expanded.extend(columns.iter().map(|c| {
                    SelectItem::UnnamedExpr(Expr::CompoundIdentifier(vec![
                        Ident::with_quote('"', key.clone()),
                        Ident::with_quote('"', c.clone()),
                    ]))
                }));
            }
        }
    }
    select.projection = expanded;
    Ok(())
}

/// A FROM source's name and column names, for `*`.
fn source_columns(factor: &TableFactor, catalog: &Catalog) -> Result<(String, Vec<String>)> {
    let unknown =
        || Error::unsupported("SELECT * beside LATERAL over this source (name the columns)");
    match factor {
        TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } => {
            let table = catalog.table(&object_name(name)).ok_or_else(unknown)?;
            let key = super::source_name(name, alias.as_ref());
            Ok((key, table.columns.iter().map(|c| c.name.clone()).collect()))
        }
        TableFactor::Derived {
            subquery,
            alias: Some(alias),
            ..
        } => Ok((
            ident_text(&alias.name),
            derived_columns(subquery).ok_or_else(unknown)?,
        )),
        _ => Err(unknown()),
    }
}

/// The result column names of a subquery in FROM, when it names them all.
fn derived_columns(subquery: &Query) -> Option<Vec<String>> {
    let mut body = subquery.body.as_ref();
    while let SetExpr::SetOperation { left, .. } = body {
        body = left;
    }
    let SetExpr::Select(select) = body else {
        return None;
    };
    select
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(e) => Some(column_name(e)),
            SelectItem::ExprWithAlias { alias, .. } => Some(ident_text(alias)),
            _ => None,
        })
        .collect()
}

/// The SELECTs of a query body (both sides of a UNION); nested queries are
/// visited on their own.
pub(super) fn selects(body: &mut SetExpr) -> Vec<&mut Select> {
    match body {
        SetExpr::Select(select) => vec![select.as_mut()],
        SetExpr::SetOperation { left, right, .. } => {
            let mut all = selects(left);
            all.extend(selects(right));
            all
        }
        _ => Vec::new(),
    }
}

/// The factors of a SELECT's FROM in order, each with the join that brings it.
pub(super) fn factors(select: &mut Select) -> Vec<(&mut TableFactor, Option<&JoinOperator>)> {
    let mut all = Vec::new();
    for twj in &mut select.from {
        all.push((&mut twj.relation, None));
        for join in &mut twj.joins {
            all.push((&mut join.relation, Some(&join.join_operator)));
        }
    }
    all
}

/// A lateral subquery once packed: its alias and typed columns.
struct Lateral {
    alias: String,
    columns: Vec<(String, Option<ColumnType>)>,
}

struct Finish<'a, 'b> {
    typer: &'b Typer<'a>,
}

impl VisitorMut for Finish<'_, '_> {
    type Break = Error;

    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<Error> {
        match self.query(query) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }
}

impl Finish<'_, '_> {
    fn query(&self, query: &mut Query) -> Result<()> {
        let single = matches!(query.body.as_ref(), SetExpr::Select(_));
        let mut found = Vec::new();
        for select in selects(&mut query.body) {
            let laterals = self.pack(select)?;
            if laterals.is_empty() {
                continue;
            }
            keep_names(select);
            let mut references = References::new(&laterals, select, self.typer.catalog());
            references.run(select)?;
            found.push(laterals);
        }
        // ORDER BY belongs to the query; it reads the SELECT's sources only
        // when the body is one SELECT (an output name stays as it is).
        if let (true, Some(laterals)) = (single, found.first())
            && let Some(OrderByKind::Expressions(items)) =
                query.order_by.as_mut().map(|o| &mut o.kind)
        {
            let SetExpr::Select(select) = query.body.as_mut() else {
                unreachable!("checked above");
            };
            let mut references = References::new(laterals, select, self.typer.catalog());
            references.outputs = output_names(select);
            for item in items {
                references.run(&mut item.expr)?;
            }
        }
        Ok(())
    }

    /// Replaces each lateral subquery of `select` by `json_each` over its
    /// packed rows.
    fn pack(&self, select: &mut Select) -> Result<Vec<Lateral>> {
        let mut laterals = Vec::new();
        for (factor, _) in factors(select) {
            let TableFactor::Derived {
                lateral: true,
                subquery,
                alias: Some(alias),
                ..
            } = factor
            else {
                continue;
            };
            let name = ident_text(&alias.name);
            let names = derived_columns(subquery)
                .ok_or_else(|| Error::internal("lateral subquery without named columns"))?;
            let columns = names
                .iter()
                .map(|c| {
                    let reference = Expr::CompoundIdentifier(vec![
                        Ident::with_quote('"', name.clone()),
                        Ident::with_quote('"', c.clone()),
                    ]);
                    (c.clone(), self.typer.type_of(&reference))
                })
                .collect();
            let subquery = std::mem::replace(subquery.as_mut(), empty_query()?);
            *factor = json_each(subquery, &names, &name)?;
            laterals.push(Lateral {
                alias: name,
                columns,
            });
        }
        Ok(laterals)
    }
}

fn parse_query(sql: &str) -> Result<Query> {
    match Parser::parse_sql(&PostgreSqlDialect {}, sql)
        .map_err(|e| Error::internal(format!("LATERAL rewrite: {e}")))?
        .pop()
    {
        Some(Statement::Query(query)) => Ok(*query),
        _ => Err(Error::internal("LATERAL rewrite")),
    }
}

fn empty_query() -> Result<Query> {
    parse_query("SELECT 1")
}

/// `json_each((SELECT json_group_array(lw_row(...)) FROM (subquery) AS
/// lw_lateral)) AS alias`: the subquery's rows, packed, in its order.
fn json_each(subquery: Query, columns: &[String], alias: &str) -> Result<TableFactor> {
    let packed: Vec<String> = columns
        .iter()
        .map(|c| format!("{PACKED}.{}", quote_ident(c)))
        .collect();
    let sql = format!(
        "SELECT 1 FROM json_each((SELECT json_group_array(lw_row({})) FROM (SELECT 1) AS {PACKED})) AS {}",
        packed.join(", "),
        quote_ident(alias)
    );
    let mut template = parse_query(&sql)?;
    let mut slot = Some(subquery);
    let _ = VisitMut::visit(&mut template, &mut FillPacked { slot: &mut slot });
    let SetExpr::Select(select) = *template.body else {
        return Err(Error::internal("LATERAL rewrite"));
    };
    select
        .from
        .into_iter()
        .next()
        .map(|twj| twj.relation)
        .ok_or_else(|| Error::internal("LATERAL rewrite"))
}

/// Puts the real subquery where the template has `(SELECT 1) AS lw_lateral`.
struct FillPacked<'a> {
    slot: &'a mut Option<Query>,
}

impl VisitorMut for FillPacked<'_> {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::Derived {
            subquery,
            alias: Some(alias),
            ..
        } = factor
            && alias.name.value == PACKED
            && let Some(real) = self.slot.take()
        {
            **subquery = real;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

/// Names the select list's bare column references explicitly before they
/// become `lw_field(...)` calls, so that a query around this one (`FROM
/// (SELECT s.total ...) x`) still finds `x.total`.
fn keep_names(select: &mut Select) {
    for item in &mut select.projection {
        if let SelectItem::UnnamedExpr(e @ (Expr::Identifier(_) | Expr::CompoundIdentifier(_))) =
            item
        {
            *item = SelectItem::ExprWithAlias {
                alias: Ident::with_quote('"', column_name(e)),
                expr: e.clone(),
            };
        }
    }
}

/// The names a SELECT gives its results (which ORDER BY may use).
fn output_names(select: &Select) -> Vec<String> {
    select
        .projection
        .iter()
        .filter_map(|item| match item {
            SelectItem::ExprWithAlias { alias, .. } => Some(ident_text(alias)),
            _ => None,
        })
        .collect()
}

/// Rewrites the references of one SELECT (and the queries inside it) to its
/// lateral columns, and qualifies the unqualified names `json_each` would
/// capture.
struct References<'a> {
    laterals: &'a [Lateral],
    /// The other sources of the SELECT: name, column names.
    sources: Vec<(String, Vec<String>)>,
    /// Output names, which an unqualified name in ORDER BY means first.
    outputs: Vec<String>,
    /// The nested queries around the expression being visited.
    scopes: Vec<Scope>,
    catalog: &'a Catalog,
    error: Option<Error>,
}

/// A query nested in the SELECT: the names its FROM defines, and their
/// columns (None when some source's columns are not known).
struct Scope {
    aliases: Vec<String>,
    columns: Option<Vec<String>>,
}

impl Scope {
    fn of(query: &mut Query, catalog: &Catalog) -> Scope {
        let mut scope = Scope {
            aliases: Vec::new(),
            columns: Some(Vec::new()),
        };
        for select in selects(&mut query.body) {
            for (factor, _) in factors(select) {
                match source_columns(factor, catalog) {
                    Ok((alias, columns)) => {
                        scope.aliases.push(alias);
                        if let Some(all) = scope.columns.as_mut() {
                            all.extend(columns);
                        }
                    }
                    Err(_) => {
                        scope.aliases.extend(factor_alias(factor));
                        scope.columns = None;
                    }
                }
            }
        }
        scope
    }
}

/// The name a FROM source goes by, when it has one.
fn factor_alias(factor: &TableFactor) -> Option<String> {
    match factor {
        TableFactor::Table { name, alias, .. } => Some(super::source_name(name, alias.as_ref())),
        TableFactor::Derived { alias: Some(a), .. } => Some(ident_text(&a.name)),
        _ => None,
    }
}

impl<'a> References<'a> {
    fn new(laterals: &'a [Lateral], select: &mut Select, catalog: &'a Catalog) -> Self {
        let sources = factors(select)
            .into_iter()
            .filter_map(|(factor, _)| source_columns(factor, catalog).ok())
            .filter(|(name, _)| !laterals.iter().any(|l| &l.alias == name))
            .collect();
        References {
            laterals,
            sources,
            outputs: Vec::new(),
            scopes: Vec::new(),
            catalog,
            error: None,
        }
    }

    fn run<T: VisitMut>(&mut self, node: &mut T) -> Result<()> {
        let _ = node.visit(self);
        self.error.take().map_or(Ok(()), Err)
    }

    /// `alias.column` (or `column` in the SELECT itself) of a lateral.
    fn lateral_field(&self, qualifier: Option<&str>, column: &str) -> Option<Expr> {
        self.laterals
            .iter()
            .filter(|l| qualifier.is_none_or(|q| q == l.alias))
            .find_map(|l| {
                let index = l.columns.iter().position(|(c, _)| c == column)?;
                Some(field(&l.alias, index, l.columns[index].1))
            })
    }

    /// An unqualified name `json_each` would capture, qualified with the one
    /// source that has it; refused when none or several do.
    fn qualify(&self, ident: &Ident) -> Result<Option<Expr>> {
        let name = ident_text(ident);
        if !JSON_EACH_COLUMNS.contains(&name.as_str()) {
            return Ok(None);
        }
        let owners: Vec<&String> = self
            .sources
            .iter()
            .filter(|(_, columns)| columns.iter().any(|c| c.eq_ignore_ascii_case(&name)))
            .map(|(source, _)| source)
            .collect();
        match owners.as_slice() {
            [owner] => Ok(Some(Expr::CompoundIdentifier(vec![
                Ident::with_quote('"', owner.to_string()),
                ident.clone(),
            ]))),
            _ => Err(Error::unsupported(format!(
                "column reference \"{name}\" beside LATERAL (qualify it with its table)"
            ))),
        }
    }

    fn shadowed(&self, alias: &str) -> bool {
        self.scopes
            .iter()
            .any(|s| s.aliases.iter().any(|a| a == alias))
    }

    /// Whether an unqualified name reaches the SELECT's own sources: no
    /// source of the nested queries in between has a column of that name.
    fn reaches_out(&self, name: &str) -> bool {
        self.scopes.iter().all(|s| {
            s.columns
                .as_ref()
                .is_some_and(|c| !c.iter().any(|c| c.eq_ignore_ascii_case(name)))
        })
    }

    fn rewrite(&self, expr: &Expr) -> Result<Option<Expr>> {
        match expr {
            Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
                let qualifier = ident_text(&parts[0]);
                if self.shadowed(&qualifier) {
                    return Ok(None);
                }
                Ok(self.lateral_field(Some(&qualifier), &ident_text(&parts[1])))
            }
            // A name in the SELECT itself, or in a nested query none of
            // whose sources has it.
            Expr::Identifier(ident) => {
                let name = ident_text(ident);
                if self.outputs.contains(&name) || !self.reaches_out(&name) {
                    return Ok(None);
                }
                match self.lateral_field(None, &name) {
                    Some(field) => Ok(Some(field)),
                    None => self.qualify(ident),
                }
            }
            _ => Ok(None),
        }
    }
}

impl VisitorMut for References<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        self.scopes.push(Scope::of(query, self.catalog));
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &mut Query) -> ControlFlow<()> {
        self.scopes.pop();
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        match self.rewrite(expr) {
            Ok(Some(rewritten)) => *expr = rewritten,
            Ok(None) => {}
            Err(e) => {
                self.error = Some(e);
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }
}

/// Column `index` of lateral `alias`: `lw_field(alias.value, index)`, with
/// the collation a stored numeric or interval text compares by (the typer
/// left comparisons on such columns to it, as for table columns).
fn field(alias: &str, index: usize, ty: Option<ColumnType>) -> Expr {
    let value = call(
        "lw_field",
        vec![
            Expr::CompoundIdentifier(vec![
                Ident::with_quote('"', alias.to_string()),
                Ident::new("value"),
            ]),
            number(&index.to_string()),
        ],
    );
    let collation = match ty.map(|t| t.ty) {
        Some(PgType::Numeric) => "lw_numeric",
        Some(PgType::Interval) => "lw_interval",
        _ => return value,
    };
    Expr::Collate {
        expr: Box::new(Expr::Cast {
            kind: sqlparser::ast::CastKind::Cast,
            expr: Box::new(value),
            data_type: sqlparser::ast::DataType::Text,
            format: None,
            array: false,
        }),
        collation: ObjectName(vec![ObjectNamePart::Identifier(Ident::new(collation))]),
    }
}

/// A lateral subquery left where [`finish`] does not reach (the FROM of an
/// UPDATE or DELETE) is refused rather than sent to SQLite.
struct Leftover;

impl VisitorMut for Leftover {
    type Break = Error;

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<Error> {
        if matches!(factor, TableFactor::Derived { lateral: true, .. }) {
            return ControlFlow::Break(Error::unsupported("LATERAL outside the FROM of a SELECT"));
        }
        ControlFlow::Continue(())
    }
}
