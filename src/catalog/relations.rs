//! The `pg_catalog` and `information_schema` relations litewire emulates.
//!
//! Each relation is a SQLite TEMP view created on every connection
//! (`store::open_conn`), computed at query time from `sqlite_schema`, the
//! `pragma_*` table functions and litewire's own tables, so it can never be
//! stale after DDL. The view bodies live in `sql/catalog/<relation>.sql`; this
//! file declares each relation's columns with their Postgres types (the
//! translator types queries on them like any table) and the order the views
//! are created in (a view may read the ones before it).
//!
//! Types Postgres gives catalog columns that litewire does not model (`"char"`,
//! `regproc`, `xid`, `int2vector`, arrays, `pg_node_tree`, `aclitem[]`) are
//! served as `text` in their Postgres text form (`indkey` is `1 2`, `conkey`
//! is `{1,2}`).

use std::sync::OnceLock;

use super::{Column, Table};
use crate::types::{ColumnType, PgType};

/// One emulated relation.
pub struct Relation {
    /// `pg_class`, or `information_schema.tables`: the SQLite view's name and
    /// the name the translator resolves.
    pub name: &'static str,
    /// `name type` pairs, comma-separated, in the order of the view's columns;
    /// `lw_*` columns are litewire's (e.g. the text `pg_get_indexdef` returns)
    /// and hidden from `SELECT *`.
    columns: &'static str,
    /// The view's SELECT; `None` for relations that are always empty here.
    body: Option<&'static str>,
    /// Internal helpers (`lw_*`) are views but not relations clients see.
    internal: bool,
}

macro_rules! relation {
    ($name:literal, $columns:literal) => {
        Relation {
            name: $name,
            columns: $columns,
            body: Some(include_str!(concat!("../../sql/catalog/", $name, ".sql"))),
            internal: $name.as_bytes()[0] == b'l',
        }
    };
    ($name:literal, $columns:literal, empty) => {
        Relation {
            name: $name,
            columns: $columns,
            body: None,
            internal: false,
        }
    };
}

/// Creation order matters: later views read earlier ones.
pub const RELATIONS: &[Relation] = &[
    relation!(
        "lw_relations",
        "oid oid, name text, kind text, tbl text, sql text, relname text, nsp oid, nspname text"
    ),
    relation!(
        "lw_attributes",
        "attrelid oid, attnum int2, attname text, type text, not_null bool, pk int4, dflt text, rowid_pk bool"
    ),
    relation!(
        "lw_indexes",
        "oid oid, name text, indrelid oid, tbl text, isunique bool, isprimary bool, origin text, \
         indkey text, colnames text, partial bool, sqlite_name text, nsp oid, nspname text, \
         tblname text"
    ),
    relation!(
        "lw_index_columns",
        "indexrelid oid, seqno int4, attnum int2"
    ),
    relation!(
        "lw_foreign_keys",
        "relid oid, id int4, seq int4, attnum int2, attname text, confrelid oid, refname text, \
         on_update text, on_delete text"
    ),
    relation!("lw_functions", "oid oid, name text, source text"),
    relation!(
        "pg_namespace",
        "oid oid, nspname name, nspowner oid, nspacl text"
    ),
    relation!(
        "pg_class",
        "oid oid, relname name, relnamespace oid, reltype oid, reloftype oid, relowner oid, \
         relam oid, relfilenode oid, reltablespace oid, relpages int4, reltuples float4, \
         relallvisible int4, reltoastrelid oid, relhasindex bool, relisshared bool, \
         relpersistence \"char\", relkind \"char\", relnatts int2, relchecks int2, relhasrules bool, \
         relhastriggers bool, relhassubclass bool, relrowsecurity bool, relforcerowsecurity bool, \
         relispopulated bool, relreplident text, relispartition bool, relrewrite oid, \
         relfrozenxid text, relminmxid text, relacl text, reloptions text, relpartbound text"
    ),
    relation!(
        "pg_attribute",
        "attrelid oid, attname name, atttypid oid, attstattarget int4, attlen int2, attnum int2, \
         attndims int4, attcacheoff int4, atttypmod int4, attbyval bool, attalign text, \
         attstorage text, attcompression text, attnotnull bool, atthasdef bool, \
         atthasmissing bool, attidentity text, attgenerated text, attisdropped bool, \
         attislocal bool, attinhcount int4, attcollation oid, attacl text, attoptions text, \
         attfdwoptions text, attmissingval text"
    ),
    relation!("pg_attrdef", "oid oid, adrelid oid, adnum int2, adbin text"),
    relation!(
        "pg_index",
        "indexrelid oid, indrelid oid, indnatts int2, indnkeyatts int2, indisunique bool, \
         indnullsnotdistinct bool, indisprimary bool, indisexclusion bool, indimmediate bool, \
         indisclustered bool, indisvalid bool, indcheckxmin bool, indisready bool, \
         indislive bool, indisreplident bool, indkey text, indcollation text, indclass text, \
         indoption text, indexprs text, indpred text, lw_def text"
    ),
    relation!(
        "pg_constraint",
        "oid oid, conname name, connamespace oid, contype \"char\", condeferrable bool, \
         condeferred bool, convalidated bool, conrelid oid, contypid oid, conindid oid, \
         conparentid oid, confrelid oid, confupdtype text, confdeltype text, \
         confmatchtype text, conislocal bool, coninhcount int4, connoinherit bool, \
         conkey text, confkey text, conpfeqop text, conppeqop text, conffeqop text, \
         confdelsetcols text, conexclop text, conbin text, lw_def text"
    ),
    relation!("pg_am", "oid oid, amname name, amhandler text, amtype text"),
    relation!(
        "pg_settings",
        "name text, setting text, unit text, category text, short_desc text, extra_desc text, \
         context text, vartype text, source text, min_val text, max_val text, enumvals text, \
         boot_val text, reset_val text, sourcefile text, sourceline int4, pending_restart bool"
    ),
    relation!(
        "pg_database",
        "oid oid, datname name, datdba oid, encoding int4, datlocprovider text, \
         datistemplate bool, datallowconn bool, datconnlimit int4, datfrozenxid text, \
         datminmxid text, dattablespace oid, datcollate text, datctype text, \
         daticulocale text, datcollversion text, datacl text"
    ),
    relation!(
        "pg_roles",
        "rolname name, rolsuper bool, rolinherit bool, rolcreaterole bool, rolcreatedb bool, \
         rolcanlogin bool, rolreplication bool, rolconnlimit int4, rolpassword text, \
         rolvaliduntil timestamptz, rolbypassrls bool, rolconfig text, oid oid"
    ),
    relation!(
        "pg_user",
        "usename name, usesysid oid, usecreatedb bool, usesuper bool, userepl bool, \
         usebypassrls bool, passwd text, valuntil timestamptz, useconfig text"
    ),
    relation!(
        "pg_tablespace",
        "oid oid, spcname name, spcowner oid, spcacl text, spcoptions text"
    ),
    relation!(
        "pg_collation",
        "oid oid, collname name, collnamespace oid, collowner oid, collprovider text, \
         collisdeterministic bool, collencoding int4, collcollate text, collctype text, \
         colliculocale text, collversion text"
    ),
    relation!(
        "pg_extension",
        "oid oid, extname name, extowner oid, extnamespace oid, extrelocatable bool, \
         extversion text, extconfig text, extcondition text"
    ),
    relation!(
        "pg_proc",
        "oid oid, proname name, pronamespace oid, proowner oid, prolang oid, procost float4, \
         prorows float4, provariadic oid, prosupport text, prokind text, prosecdef bool, \
         proleakproof bool, proisstrict bool, proretset bool, provolatile text, \
         proparallel text, pronargs int2, pronargdefaults int2, prorettype oid, \
         proargtypes text, proallargtypes text, proargmodes text, proargnames text, \
         proargdefaults text, protrftypes text, prosrc text, probin text, prosqlbody text, \
         proconfig text, proacl text"
    ),
    relation!(
        "pg_trigger",
        "oid oid, tgrelid oid, tgparentid oid, tgname name, tgfoid oid, tgtype int2, \
         tgenabled text, tgisinternal bool, tgconstrrelid oid, tgconstrindid oid, \
         tgconstraint oid, tgdeferrable bool, tginitdeferred bool, tgnargs int2, tgattr text, \
         tgargs bytea, tgqual text, tgoldtable name, tgnewtable name, lw_def text"
    ),
    relation!(
        "pg_sequence",
        "seqrelid oid, seqtypid oid, seqstart int8, seqincrement int8, seqmax int8, \
         seqmin int8, seqcache int8, seqcycle bool"
    ),
    relation!(
        "pg_depend",
        "classid oid, objid oid, objsubid int4, refclassid oid, refobjid oid, \
         refobjsubid int4, deptype text"
    ),
    relation!(
        "pg_tables",
        "schemaname name, tablename name, tableowner name, tablespace name, hasindexes bool, \
         hasrules bool, hastriggers bool, rowsecurity bool"
    ),
    relation!(
        "pg_indexes",
        "schemaname name, tablename name, indexname name, tablespace name, indexdef text"
    ),
    relation!(
        "pg_views",
        "schemaname name, viewname name, viewowner name, definition text"
    ),
    relation!(
        "pg_description",
        "objoid oid, classoid oid, objsubid int4, description text"
    ),
    relation!(
        "pg_shdescription",
        "objoid oid, classoid oid, description text",
        empty
    ),
    relation!(
        "pg_enum",
        "oid oid, enumtypid oid, enumsortorder float4, enumlabel name"
    ),
    relation!(
        "pg_range",
        "rngtypid oid, rngsubtype oid, rngmultitypid oid, rngcollation oid, rngsubopc oid, \
         rngcanonical text, rngsubdiff text",
        empty
    ),
    relation!(
        "pg_inherits",
        "inhrelid oid, inhparent oid, inhseqno int4, inhdetachpending bool",
        empty
    ),
    relation!(
        "pg_policy",
        "oid oid, polname name, polrelid oid, polcmd text, polpermissive bool, polroles text, \
         polqual text, polwithcheck text",
        empty
    ),
    relation!(
        "pg_statistic_ext",
        "oid oid, stxrelid oid, stxname name, stxnamespace oid, stxowner oid, \
         stxstattarget int4, stxkeys text, stxkind text, stxexprs text",
        empty
    ),
    relation!(
        "pg_publication",
        "oid oid, pubname name, pubowner oid, puballtables bool, pubinsert bool, \
         pubupdate bool, pubdelete bool, pubtruncate bool, pubviaroot bool",
        empty
    ),
    relation!(
        "pg_publication_rel",
        "oid oid, prpubid oid, prrelid oid, prqual text, prattrs text",
        empty
    ),
    relation!(
        "pg_publication_namespace",
        "oid oid, pnpubid oid, pnnspid oid",
        empty
    ),
    relation!(
        "pg_auth_members",
        "roleid oid, member oid, grantor oid, admin_option bool",
        empty
    ),
    relation!(
        "pg_rewrite",
        "oid oid, rulename name, ev_class oid, ev_type text, ev_enabled text, is_instead bool, \
         ev_qual text, ev_action text",
        empty
    ),
    relation!(
        "pg_foreign_table",
        "ftrelid oid, ftserver oid, ftoptions text",
        empty
    ),
    relation!(
        "pg_partitioned_table",
        "partrelid oid, partstrat text, partnatts int2, partdefid oid, partattrs text, \
         partclass text, partcollation text, partexprs text",
        empty
    ),
    Relation {
        name: "pg_type",
        columns: "oid oid, typname name, typnamespace oid, typowner oid, typlen int2, \
                  typbyval bool, typtype \"char\", typcategory \"char\", typispreferred bool, \
                  typisdefined bool, typdelim text, typrelid oid, typsubscript text, \
                  typelem oid, typarray oid, typinput text, typoutput text, typreceive text, \
                  typsend text, typmodin text, typmodout text, typanalyze text, \
                  typalign text, typstorage text, typnotnull bool, typbasetype oid, \
                  typtypmod int4, typndims int4, typcollation oid, typdefaultbin text, \
                  typdefault text, typacl text",
        body: None,
        internal: false,
    },
    relation!(
        "lw_lookup",
        "lw_kind text, lw_oid oid, lw_num int4, lw_key text, lw_name text"
    ),
    relation!(
        "information_schema.tables",
        "table_catalog name, table_schema name, table_name name, table_type varchar, \
         self_referencing_column_name name, reference_generation varchar, \
         user_defined_type_catalog name, user_defined_type_schema name, \
         user_defined_type_name name, is_insertable_into varchar, is_typed varchar, \
         commit_action varchar"
    ),
    relation!(
        "information_schema.columns",
        "table_catalog name, table_schema name, table_name name, column_name name, \
         ordinal_position int4, column_default varchar, is_nullable varchar, data_type varchar, \
         character_maximum_length int4, character_octet_length int4, numeric_precision int4, \
         numeric_precision_radix int4, numeric_scale int4, datetime_precision int4, \
         interval_type varchar, interval_precision int4, character_set_catalog name, \
         character_set_schema name, character_set_name name, collation_catalog name, \
         collation_schema name, collation_name name, domain_catalog name, domain_schema name, \
         domain_name name, udt_catalog name, udt_schema name, udt_name name, \
         scope_catalog name, scope_schema name, scope_name name, maximum_cardinality int4, \
         dtd_identifier name, is_self_referencing varchar, is_identity varchar, \
         identity_generation varchar, identity_start varchar, identity_increment varchar, \
         identity_maximum varchar, identity_minimum varchar, identity_cycle varchar, \
         is_generated varchar, generation_expression varchar, is_updatable varchar"
    ),
    relation!(
        "information_schema.table_constraints",
        "constraint_catalog name, constraint_schema name, constraint_name name, \
         table_catalog name, table_schema name, table_name name, constraint_type varchar, \
         is_deferrable varchar, initially_deferred varchar, enforced varchar, \
         nulls_distinct varchar"
    ),
    relation!(
        "information_schema.key_column_usage",
        "constraint_catalog name, constraint_schema name, constraint_name name, \
         table_catalog name, table_schema name, table_name name, column_name name, \
         ordinal_position int4, position_in_unique_constraint int4"
    ),
    relation!(
        "information_schema.referential_constraints",
        "constraint_catalog name, constraint_schema name, constraint_name name, \
         unique_constraint_catalog name, unique_constraint_schema name, \
         unique_constraint_name name, match_option varchar, update_rule varchar, \
         delete_rule varchar"
    ),
    relation!(
        "information_schema.schemata",
        "catalog_name name, schema_name name, schema_owner name, \
         default_character_set_catalog name, default_character_set_schema name, \
         default_character_set_name name, sql_path varchar"
    ),
    relation!(
        "information_schema.views",
        "table_catalog name, table_schema name, table_name name, view_definition varchar, \
         check_option varchar, is_updatable varchar, is_insertable_into varchar, \
         is_trigger_updatable varchar, is_trigger_deletable varchar, \
         is_trigger_insertable_into varchar"
    ),
];

impl Relation {
    fn column_list(&self) -> impl Iterator<Item = (&'static str, &'static str)> {
        self.columns.split(',').map(|c| {
            let c = c.trim();
            c.split_once(' ').unwrap_or((c, "text"))
        })
    }

    /// The statement creating this relation's TEMP view.
    fn create_view(&self) -> String {
        let names: Vec<String> = self
            .column_list()
            .map(|(n, _)| format!("\"{n}\""))
            .collect();
        let body = match (self.name, self.body) {
            ("pg_type", _) => format!("{} UNION ALL {ENUM_TYPES}", pg_type_rows()),
            (_, Some(body)) => body.to_string(),
            (_, None) => format!("SELECT {} WHERE 0", vec!["NULL"; names.len()].join(", ")),
        };
        format!(
            "CREATE TEMP VIEW IF NOT EXISTS \"{}\" ({}) AS {body};\n",
            self.name,
            names.join(", ")
        )
    }

    /// The relation as the translator types it.
    fn table(&self) -> Table {
        Table {
            name: self.name.to_string(),
            columns: self
                .column_list()
                .filter(|(name, _)| !name.starts_with("lw_"))
                .map(|(name, ty)| {
                    Column::new(
                        name,
                        ColumnType::parse(ty).expect("catalog column types are known"),
                    )
                })
                .collect(),
        }
    }
}

/// The SQL creating every catalog view; run on each new connection.
pub fn views_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| RELATIONS.iter().map(Relation::create_view).collect())
}

/// The relations clients can query, typed.
pub fn tables() -> &'static [Table] {
    static TABLES: OnceLock<Vec<Table>> = OnceLock::new();
    TABLES.get_or_init(|| {
        RELATIONS
            .iter()
            .filter(|r| !r.internal)
            .map(Relation::table)
            .collect()
    })
}

/// `pg_type` rows of the `CREATE TYPE ... AS ENUM` types.
const ENUM_TYPES: &str = "SELECT DISTINCT type_oid, type_name, 2200, 10, 4, 1, 'e', 'E', 0, 1, \
     ',', 0, '-', 0, 0, 'enum_in', 'enum_out', 'enum_recv', 'enum_send', '-', '-', '-', 'i', \
     'p', 0, 0, -1, 0, 0, NULL, NULL, NULL FROM main._lw_enums";

/// `pg_type`: one row per type litewire serves, and its array type.
fn pg_type_rows() -> String {
    let mut rows = Vec::new();
    for ty in PgType::ALL {
        let (category, array) = ty.catalog_info();
        let base = TypeRow {
            oid: ty.oid(),
            name: ty.typname().to_string(),
            len: ty.size(),
            pseudo: matches!(category, 'P' | 'X'),
            category,
            elem: 0,
            array,
            collation: if ty.is_textual() && ty != PgType::Unknown {
                100
            } else {
                0
            },
        };
        if array != 0 {
            rows.push(TypeRow {
                oid: array,
                name: format!("_{}", base.name),
                len: -1,
                pseudo: false,
                category: 'A',
                elem: base.oid,
                array: 0,
                collation: base.collation,
            });
        }
        rows.push(base);
    }
    rows.iter()
        .map(TypeRow::select)
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// The `pg_type` columns that differ between litewire's types.
struct TypeRow {
    oid: u32,
    name: String,
    len: i16,
    pseudo: bool,
    category: char,
    elem: u32,
    array: u32,
    collation: u32,
}

impl TypeRow {
    fn select(&self) -> String {
        let TypeRow {
            oid,
            name,
            len,
            category,
            elem,
            array,
            collation,
            ..
        } = self;
        let byval = (1..=8).contains(len) as u8;
        let kind = if self.pseudo { 'p' } else { 'b' };
        format!(
            "SELECT {oid}, '{name}', 11, 10, {len}, {byval}, '{kind}', '{category}', 0, 1, ',', \
             0, '-', {elem}, {array}, '{name}in', '{name}out', '{name}recv', '{name}send', '-', \
             '-', '-', 'i', 'p', 0, 0, -1, 0, {collation}, NULL, NULL, NULL"
        )
    }
}
