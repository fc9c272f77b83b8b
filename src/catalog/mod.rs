//! What litewire knows about the user's schema: tables and their columns with
//! Postgres types. The translator types expressions and parameters from it; the
//! front end types result columns from it. It is rebuilt from the database
//! (`store::schema::load_catalog`) after every DDL, never cached stale.
//!
//! The `pg_catalog` / `information_schema` relations are declared in
//! [`relations`] and typed here like tables.

pub mod relations;

use std::collections::{HashMap, HashSet, VecDeque};

use crate::types::ColumnType;

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub ty: ColumnType,
    pub not_null: bool,
    pub primary_key: bool,
    /// The column's DEFAULT as SQLite SQL (already translated), which a
    /// `DEFAULT` in a VALUES row stands for; None: NULL (or the next rowid).
    pub default: Option<String>,
}

impl Column {
    /// A nullable column without default, not part of the primary key.
    pub fn new(name: impl Into<String>, ty: ColumnType) -> Column {
        Column {
            name: name.into(),
            ty,
            not_null: false,
            primary_key: false,
            default: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
}

/// The columns of a document collection's table, in order (the documents API
/// and the JSON query DSL read fields inside `doc`).
const COLLECTION: [(&str, crate::types::PgType); 3] = [
    ("id", crate::types::PgType::Text),
    ("doc", crate::types::PgType::Jsonb),
    ("updated_at", crate::types::PgType::Timestamptz),
];

impl Table {
    /// Whether this is a document collection (`id text, doc jsonb,
    /// updated_at timestamptz`).
    pub fn is_collection(&self) -> bool {
        self.columns.len() == COLLECTION.len()
            && self
                .columns
                .iter()
                .zip(COLLECTION)
                .all(|(c, (name, ty))| c.name == name && c.ty.ty == ty)
    }

    /// The primary key's columns, in table order (empty when it has none).
    pub fn primary_key(&self) -> Vec<String> {
        self.columns
            .iter()
            .filter(|c| c.primary_key)
            .map(|c| c.name.clone())
            .collect()
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }
}

/// A trigger created with `CREATE TRIGGER` (`_lw_triggers`): the translator
/// compiles it, with its function's body, into SQLite triggers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerDef {
    pub table: String,
    pub name: String,
    pub function: String,
    /// The CREATE TRIGGER statement as Postgres SQL.
    pub definition: String,
}

/// A snapshot of the schema. Cheap to share (`Arc<Catalog>`).
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    tables: HashMap<String, Table>,
    /// Trigger functions by name: their PL/pgSQL source (`_lw_functions`).
    functions: HashMap<String, String>,
    triggers: Vec<TriggerDef>,
    /// Which of `tables` are views, with the relations each reads (all
    /// lowercased), so writes into views, DROP of the wrong kind and DROP of
    /// what a view reads are refused the Postgres way.
    views: HashMap<String, Vec<String>>,
    /// Sequences made with CREATE SEQUENCE (`_lw_sequences`), lowercased.
    sequences: HashSet<String>,
    /// Indexes by stored name, lowercased (for `IF [NOT] EXISTS`).
    indexes: HashSet<String>,
    /// Enum types by name (`_lw_enums`).
    enums: HashMap<String, EnumType>,
    /// Schemas made with CREATE SCHEMA (`_lw_schemas`); `public` is implicit.
    schemas: HashSet<String>,
}

/// A `CREATE TYPE ... AS ENUM` type: its oid and labels in declaration order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumType {
    pub oid: u32,
    pub labels: Vec<String>,
}

impl Catalog {
    pub fn new(tables: impl IntoIterator<Item = Table>) -> Self {
        Catalog {
            tables: tables
                .into_iter()
                .map(|t| (t.name.to_ascii_lowercase(), t))
                .collect(),
            functions: HashMap::new(),
            triggers: Vec::new(),
            views: HashMap::new(),
            sequences: HashSet::new(),
            indexes: HashSet::new(),
            enums: HashMap::new(),
            schemas: HashSet::new(),
        }
    }

    /// This catalog with the schemas made by CREATE SCHEMA.
    pub fn with_schemas(mut self, schemas: impl IntoIterator<Item = String>) -> Self {
        self.schemas = schemas.into_iter().collect();
        self
    }

    /// Whether schema `name` exists (`public` always does; the system
    /// schemas hold no user relations and do not count).
    pub fn has_schema(&self, name: &str) -> bool {
        name == PUBLIC || self.schemas.contains(name)
    }

    /// Whether a table, view or sequence is stored under `stored` (see
    /// [`stored_name`]).
    pub fn has_relation(&self, stored: &str) -> bool {
        self.tables.contains_key(&stored.to_ascii_lowercase()) || self.is_sequence(stored)
    }

    /// The stored names of the relations in schema `schema` (not `public`).
    pub fn relations_in(&self, schema: &str) -> Vec<String> {
        let prefix = format!("{schema}.");
        let mut names: Vec<String> = self
            .tables
            .values()
            .map(|t| t.name.clone())
            .filter(|n| n.starts_with(&prefix))
            .collect();
        names.sort();
        names
    }

    /// This catalog with the named relations marked as views, each with the
    /// relations it reads.
    pub fn with_views(mut self, views: impl IntoIterator<Item = (String, Vec<String>)>) -> Self {
        self.views = views
            .into_iter()
            .map(|(v, sources)| (v.to_ascii_lowercase(), sources))
            .collect();
        self
    }

    /// The views that read `names`, directly or through other views, each
    /// with the relation it was found to read, in discovery order (excluding
    /// `names` themselves).
    pub fn dependent_views(&self, names: &[String]) -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = Vec::new();
        let mut queue: VecDeque<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        while let Some(name) = queue.pop_front() {
            let mut readers: Vec<&String> = self
                .views
                .iter()
                .filter(|(_, sources)| sources.contains(&name))
                .map(|(view, _)| view)
                .collect();
            readers.sort();
            for view in readers {
                let known = names.contains(view) || found.iter().any(|(v, _)| v == view);
                if !known {
                    found.push((view.clone(), name.clone()));
                    queue.push_back(view.clone());
                }
            }
        }
        found
    }

    /// This catalog with the named sequences.
    pub fn with_sequences(mut self, sequences: impl IntoIterator<Item = String>) -> Self {
        self.sequences = lowercased(sequences);
        self
    }

    /// This catalog with the named indexes.
    pub fn with_indexes(mut self, indexes: impl IntoIterator<Item = String>) -> Self {
        self.indexes = lowercased(indexes);
        self
    }

    /// Whether `name` (stored, optionally `public.`-qualified) is an index.
    pub fn is_index(&self, name: &str) -> bool {
        self.indexes
            .contains(&unqualified(name).to_ascii_lowercase())
    }

    /// This catalog with the enum types.
    pub fn with_enums(mut self, enums: impl IntoIterator<Item = (String, EnumType)>) -> Self {
        self.enums = enums.into_iter().collect();
        self
    }

    /// An enum type by name (optionally `public.`-qualified).
    pub fn enum_type(&self, name: &str) -> Option<&EnumType> {
        self.enums.get(unqualified(name))
    }

    /// Every enum type, by name.
    pub fn enums(&self) -> impl Iterator<Item = (&String, &EnumType)> {
        self.enums.iter()
    }

    /// Whether `name` (optionally `public.`-qualified) is a sequence.
    pub fn is_sequence(&self, name: &str) -> bool {
        let name = unqualified(name);
        self.sequences.contains(&name.to_ascii_lowercase())
    }

    /// Whether `name` (optionally `public.`-qualified) is a view.
    pub fn is_view(&self, name: &str) -> bool {
        let name = unqualified(name);
        self.views.contains_key(&name.to_ascii_lowercase())
    }

    /// This catalog with the stored trigger functions and triggers.
    pub fn with_routines(
        mut self,
        functions: impl IntoIterator<Item = (String, String)>,
        triggers: Vec<TriggerDef>,
    ) -> Self {
        self.functions = functions.into_iter().collect();
        self.triggers = triggers;
        self
    }

    /// A trigger function's PL/pgSQL source.
    pub fn function(&self, name: &str) -> Option<&str> {
        self.functions.get(name).map(String::as_str)
    }

    /// This catalog with function `name` given `source` (to check a replacement).
    pub fn with_function(&self, name: &str, source: &str) -> Catalog {
        let mut next = self.clone();
        next.functions.insert(name.to_string(), source.to_string());
        next
    }

    pub fn triggers(&self) -> &[TriggerDef] {
        &self.triggers
    }

    /// Looks a table up by name; `public.` and `pg_temp`-less qualified names
    /// resolve to the same table (schemas arrive with a later issue). The
    /// `pg_catalog` relations come first, as `pg_catalog` is first on
    /// Postgres's search path.
    pub fn table(&self, name: &str) -> Option<&Table> {
        if let Some(relation) = catalog_relation(name) {
            return Some(relation);
        }
        let name = unqualified(name);
        self.tables.get(&name.to_ascii_lowercase())
    }

    /// Every table and view.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.tables.values()
    }

    pub fn column_type(&self, table: &str, column: &str) -> Option<ColumnType> {
        self.table(table)?.column(column).map(|c| c.ty)
    }
}

impl Catalog {
    /// This catalog plus (or with a replaced) `table`; used to type a CREATE TABLE's
    /// own CHECK and DEFAULT expressions before the table exists.
    pub fn with_table(&self, table: Table) -> Catalog {
        let mut next = self.clone();
        next.tables.insert(table.name.to_ascii_lowercase(), table);
        next
    }
}

/// The schema every database has, whose relations keep their bare names.
pub const PUBLIC: &str = "public";

/// Names as the catalog keys them (unquoted names are case-insensitive).
fn lowercased(names: impl IntoIterator<Item = String>) -> HashSet<String> {
    names.into_iter().map(|s| s.to_ascii_lowercase()).collect()
}

/// A name given with the `public` schema, as it is stored: `public.x` is `x`
/// (see [`stored_name`]).
pub fn unqualified(name: &str) -> &str {
    name.strip_prefix("public.").unwrap_or(name)
}

/// The name a relation of `schema` is stored under in SQLite, which has one
/// namespace: `public` relations keep their bare name (so databases made
/// before schemas read the same), others are `"schema.name"`.
pub fn stored_name(schema: &str, name: &str) -> String {
    if schema == PUBLIC {
        name.to_string()
    } else {
        format!("{schema}.{name}")
    }
}

/// The relation's own name in a stored name (`t` of `s.t`), as Postgres's
/// messages name it.
pub fn bare_name(stored: &str) -> &str {
    stored.rsplit_once('.').map_or(stored, |(_, bare)| bare)
}

/// `search_path`: the schemas unqualified names are looked up in, in order,
/// and the first of which (that exists) new relations are created in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPath(Vec<String>);

impl Default for SearchPath {
    fn default() -> Self {
        SearchPath(vec![PUBLIC.to_string()])
    }
}

impl SearchPath {
    /// Parses the setting's text (`"$user", public`, `app,public`): unquoted
    /// names fold to lower case, as identifiers do. `$user` names the schema
    /// called like the session's user, which litewire does not create, so it
    /// is left out.
    pub fn parse(setting: &str) -> SearchPath {
        let schemas = setting
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(
                |s| match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                    Some(quoted) => quoted.replace("\"\"", "\""),
                    None => s.to_ascii_lowercase(),
                },
            )
            .filter(|s| s != "$user")
            .collect();
        SearchPath(schemas)
    }

    /// The schemas in order.
    pub fn schemas(&self) -> &[String] {
        &self.0
    }

    /// Where `schema` is on the path (0 first), if it is.
    pub fn position(&self, schema: &str) -> Option<usize> {
        self.0.iter().position(|s| s == schema)
    }
}

/// A `pg_catalog` (qualified or not) or `information_schema` relation by name.
pub fn catalog_relation(name: &str) -> Option<&'static Table> {
    let name = name.strip_prefix("pg_catalog.").unwrap_or(name);
    if !(name.starts_with("pg_") || name.starts_with("information_schema.")) {
        return None;
    }
    relations::tables()
        .iter()
        .find(|t| t.name.eq_ignore_ascii_case(name))
}
