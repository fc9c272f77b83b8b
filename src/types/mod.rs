//! The Postgres type system as litewire models it: which types exist, how each is
//! stored in SQLite, and how its values are read from and written to clients.
//!
//! SQLite is dynamically typed, so the Postgres type of every column is recorded
//! (`_lw_columns`, see `store::schema`) and every value is kept in one canonical
//! SQLite form per type ([`Storage`]). Canonical forms are chosen so SQLite's own
//! comparison and sorting give Postgres's answer (UTC timestamps in ISO text sort
//! chronologically; `numeric` text compares through the `lw_numeric` collation).
//! The text form sent to clients is then, for most types, the stored text itself.

pub mod array;
pub mod binary;
pub mod date_part;
pub mod datetime;
pub mod datetime_math;
pub mod input;
pub mod interval;
pub mod json;
pub mod json_value;
pub mod numeric;
pub mod output;
pub mod to_char;

/// A Postgres type litewire stores and serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PgType {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric,
    Text,
    Varchar,
    Bpchar,
    Name,
    /// `"char"`: one byte, the type of catalog flags (`typtype`, `relkind`),
    /// which drivers compare as bytes.
    Char,
    Bytea,
    Date,
    Time,
    Timestamp,
    Timestamptz,
    Interval,
    Uuid,
    Json,
    Jsonb,
    Oid,
    /// The type of a string literal before context decides (`'abc'`); sent as text.
    Unknown,
    /// What `pg_notify()` returns: an empty value.
    Void,
    /// Arrays, kept in their text form (`{a,"b c",NULL}`): what `array_agg`
    /// and the catalog's arrays return, so drivers get lists.
    TextArray,
    BoolArray,
    Int2Array,
    Int4Array,
    Int8Array,
}

/// How a type's values live in SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Integer,
    Real,
    Text,
    Blob,
}

impl PgType {
    /// The `pg_type.oid` of the type, as sent in RowDescription and ParameterDescription.
    pub fn oid(self) -> u32 {
        use PgType::*;
        match self {
            Bool => 16,
            Bytea => 17,
            Name => 19,
            Char => 18,
            Int8 => 20,
            Int2 => 21,
            Int4 => 23,
            Text => 25,
            Oid => 26,
            Json => 114,
            Float4 => 700,
            Float8 => 701,
            Unknown => 705,
            Bpchar => 1042,
            Varchar => 1043,
            Date => 1082,
            Time => 1083,
            Timestamp => 1114,
            Timestamptz => 1184,
            Interval => 1186,
            Numeric => 1700,
            Uuid => 2950,
            Jsonb => 3802,
            Void => 2278,
            TextArray => 1009,
            BoolArray => 1000,
            Int2Array => 1005,
            Int4Array => 1007,
            Int8Array => 1016,
        }
    }

    pub fn from_oid(oid: u32) -> Option<PgType> {
        use PgType::*;
        Some(match oid {
            16 => Bool,
            17 => Bytea,
            19 => Name,
            18 => Char,
            20 => Int8,
            21 => Int2,
            23 => Int4,
            25 => Text,
            26 => Oid,
            114 => Json,
            700 => Float4,
            701 => Float8,
            705 => Unknown,
            1042 => Bpchar,
            1043 => Varchar,
            1082 => Date,
            1083 => Time,
            1114 => Timestamp,
            1184 => Timestamptz,
            1186 => Interval,
            1700 => Numeric,
            2950 => Uuid,
            3802 => Jsonb,
            2278 => Void,
            1009 => TextArray,
            1000 => BoolArray,
            1005 => Int2Array,
            1007 => Int4Array,
            1016 => Int8Array,
            _ => return None,
        })
    }

    /// Every type, in `pg_type` order (the catalog lists them).
    pub const ALL: [PgType; 29] = {
        use PgType::*;
        [
            Bool,
            Bytea,
            Char,
            Name,
            Int8,
            Int2,
            Int4,
            Text,
            Oid,
            Json,
            Float4,
            Float8,
            Unknown,
            Bpchar,
            Varchar,
            Date,
            Time,
            Timestamp,
            Timestamptz,
            Interval,
            Numeric,
            Uuid,
            Jsonb,
            Void,
            TextArray,
            BoolArray,
            Int2Array,
            Int4Array,
            Int8Array,
        ]
    };

    /// `pg_type.typcategory` and `typarray` (0: no array type).
    pub fn catalog_info(self) -> (char, u32) {
        use PgType::*;
        match self {
            Bool => ('B', 1000),
            Bytea => ('U', 1001),
            Name => ('S', 1003),
            Char => ('Z', 1002),
            Int8 => ('N', 1016),
            Int2 => ('N', 1005),
            Int4 => ('N', 1007),
            Text => ('S', 1009),
            Oid => ('N', 1028),
            Json => ('U', 199),
            Float4 => ('N', 1021),
            Float8 => ('N', 1022),
            Unknown => ('X', 0),
            Bpchar => ('S', 1014),
            Varchar => ('S', 1015),
            Date => ('D', 1182),
            Time => ('D', 1183),
            Timestamp => ('D', 1115),
            Timestamptz => ('D', 1185),
            Interval => ('T', 1187),
            Numeric => ('N', 1231),
            Uuid => ('U', 2951),
            Jsonb => ('U', 3807),
            Void => ('P', 0),
            TextArray | BoolArray | Int2Array | Int4Array | Int8Array => ('A', 0),
        }
    }

    /// `pg_type.typlen`: fixed size in bytes, or -1 for variable length.
    pub fn size(self) -> i16 {
        use PgType::*;
        match self {
            Bool | Char => 1,
            Int2 => 2,
            Int4 | Float4 | Date | Oid | Void => 4,
            Int8 | Float8 | Time | Timestamp | Timestamptz => 8,
            Interval | Uuid => 16,
            Name => 64,
            Unknown => -2,
            Numeric | Text | Varchar | Bpchar | Bytea | Json | Jsonb => -1,
            TextArray | BoolArray | Int2Array | Int4Array | Int8Array => -1,
        }
    }

    /// The name Postgres's `format_type` prints, used in messages.
    pub fn name(self) -> &'static str {
        use PgType::*;
        match self {
            Bool => "boolean",
            Int2 => "smallint",
            Int4 => "integer",
            Int8 => "bigint",
            Float4 => "real",
            Float8 => "double precision",
            Numeric => "numeric",
            Text => "text",
            Varchar => "character varying",
            Bpchar => "character",
            Name => "name",
            Char => "\"char\"",
            Bytea => "bytea",
            Date => "date",
            Time => "time without time zone",
            Timestamp => "timestamp without time zone",
            Timestamptz => "timestamp with time zone",
            Interval => "interval",
            Uuid => "uuid",
            Json => "json",
            Jsonb => "jsonb",
            Oid => "oid",
            Unknown => "unknown",
            Void => "void",
            TextArray => "text[]",
            BoolArray => "boolean[]",
            Int2Array => "smallint[]",
            Int4Array => "integer[]",
            Int8Array => "bigint[]",
        }
    }

    /// `pg_type.typname`, which Postgres uses to name a cast column.
    pub fn typname(self) -> &'static str {
        use PgType::*;
        match self {
            Bool => "bool",
            Int2 => "int2",
            Int4 => "int4",
            Int8 => "int8",
            Float4 => "float4",
            Float8 => "float8",
            Numeric => "numeric",
            Text => "text",
            Varchar => "varchar",
            Bpchar => "bpchar",
            Name => "name",
            Char => "char",
            Bytea => "bytea",
            Date => "date",
            Time => "time",
            Timestamp => "timestamp",
            Timestamptz => "timestamptz",
            Interval => "interval",
            Uuid => "uuid",
            Json => "json",
            Jsonb => "jsonb",
            Oid => "oid",
            Unknown => "unknown",
            Void => "void",
            TextArray => "_text",
            BoolArray => "_bool",
            Int2Array => "_int2",
            Int4Array => "_int4",
            Int8Array => "_int8",
        }
    }

    pub fn storage(self) -> Storage {
        use PgType::*;
        match self {
            Bool | Int2 | Int4 | Int8 | Oid => Storage::Integer,
            Float4 | Float8 => Storage::Real,
            Bytea => Storage::Blob,
            Numeric | Text | Varchar | Bpchar | Name | Char | Date | Time | Timestamp
            | Timestamptz | Interval | Uuid | Json | Jsonb | Unknown | Void => Storage::Text,
            TextArray | BoolArray | Int2Array | Int4Array | Int8Array => Storage::Text,
        }
    }

    /// The SQLite column type declared for this Postgres type. It fixes the column's
    /// affinity (so `'12.50'` stays text in a numeric column) and, for `numeric`
    /// and `interval`, the collation that makes comparisons and ORDER BY follow
    /// the value rather than its text.
    pub fn sqlite_decl(self) -> &'static str {
        match self {
            PgType::Numeric => "TEXT COLLATE lw_numeric",
            PgType::Interval => "TEXT COLLATE lw_interval",
            _ => match self.storage() {
                Storage::Integer => "INTEGER",
                Storage::Real => "REAL",
                Storage::Text => "TEXT",
                Storage::Blob => "BLOB",
            },
        }
    }

    /// The element type of an array type.
    pub fn element(self) -> Option<PgType> {
        use PgType::*;
        Some(match self {
            TextArray => Text,
            BoolArray => Bool,
            Int2Array => Int2,
            Int4Array => Int4,
            Int8Array => Int8,
            _ => return None,
        })
    }

    /// The array type of elements of this type (text for the ones litewire
    /// has no array type of: their text form is kept).
    pub fn array(self) -> PgType {
        use PgType::*;
        match self {
            Bool => BoolArray,
            Int2 => Int2Array,
            Int4 => Int4Array,
            Int8 | Oid => Int8Array,
            _ => TextArray,
        }
    }

    pub fn is_integer(self) -> bool {
        matches!(
            self,
            PgType::Int2 | PgType::Int4 | PgType::Int8 | PgType::Oid
        )
    }

    pub fn is_float(self) -> bool {
        matches!(self, PgType::Float4 | PgType::Float8)
    }

    pub fn is_textual(self) -> bool {
        matches!(
            self,
            PgType::Text | PgType::Varchar | PgType::Bpchar | PgType::Name | PgType::Unknown
        )
    }

    /// Parses a type name as written in SQL (`bigint`, `int8`, `character varying`,
    /// `timestamp with time zone`, ...), without modifiers.
    pub fn from_sql_name(name: &str) -> Option<PgType> {
        use PgType::*;
        let lower = name.trim().to_ascii_lowercase();
        let lower = lower.strip_prefix("pg_catalog.").unwrap_or(&lower);
        Some(match lower {
            "bool" | "boolean" => Bool,
            "int2" | "smallint" | "smallserial" | "serial2" => Int2,
            "int" | "int4" | "integer" | "serial" | "serial4" => Int4,
            "int8" | "bigint" | "bigserial" | "serial8" => Int8,
            "float4" | "real" => Float4,
            "float8" | "double precision" | "float" => Float8,
            "numeric" | "decimal" => Numeric,
            "text" => Text,
            "varchar" | "character varying" => Varchar,
            "char" | "character" | "bpchar" => Bpchar,
            "name" => Name,
            "\"char\"" => Char,
            "bytea" => Bytea,
            "date" => Date,
            "time" | "time without time zone" => Time,
            "timestamp" | "timestamp without time zone" => Timestamp,
            "timestamptz" | "timestamp with time zone" => Timestamptz,
            "interval" => Interval,
            "uuid" => Uuid,
            "json" => Json,
            "jsonb" => Jsonb,
            "oid" | "regclass" | "regtype" | "regproc" => Oid,
            "void" => Void,
            "text[]" | "_text" | "name[]" | "_name" | "varchar[]" | "_varchar" => TextArray,
            "bool[]" | "boolean[]" | "_bool" => BoolArray,
            "int2[]" | "smallint[]" | "_int2" => Int2Array,
            "int4[]" | "int[]" | "integer[]" | "_int4" => Int4Array,
            "int8[]" | "bigint[]" | "_int8" => Int8Array,
            _ => return None,
        })
    }
}

/// A column type with its modifier: `numeric(10,2)`, `varchar(20)`, `char(3)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ColumnType {
    pub ty: PgType,
    pub modifier: TypeModifier,
}

/// The `(n)` / `(p,s)` part of a type, kept so input can be checked and rounded
/// the way Postgres does on assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TypeModifier {
    #[default]
    None,
    Length(u32),
    Numeric {
        precision: u32,
        scale: u32,
    },
    /// A `CREATE TYPE ... AS ENUM` type, by its oid: stored and served as its
    /// label's text, described with the enum's oid.
    Enum(u32),
    /// Fractional-second digits kept by `timestamp(p)`, `timestamptz(p)`,
    /// `time(p)` and `interval(p)` (Rails declares `timestamp(6)`).
    Precision(u32),
}

impl ColumnType {
    pub fn plain(ty: PgType) -> Self {
        ColumnType {
            ty,
            modifier: TypeModifier::None,
        }
    }

    /// An enum type's columns: text, labelled with the enum's oid.
    pub fn enumerated(oid: u32) -> Self {
        ColumnType {
            ty: PgType::Text,
            modifier: TypeModifier::Enum(oid),
        }
    }

    /// The oid sent in RowDescription: the enum's for an enum.
    pub fn oid(self) -> u32 {
        match self.modifier {
            TypeModifier::Enum(oid) => oid,
            _ => self.ty.oid(),
        }
    }

    /// The type as `format_type` prints it, e.g. `numeric(10,2)`; this is also
    /// the text stored in `_lw_columns` (`enum(<oid>)` for an enum, whose name
    /// only the catalog knows).
    pub fn to_sql(self) -> String {
        match self.modifier {
            TypeModifier::Enum(oid) => format!("enum({oid})"),
            TypeModifier::None => self.ty.name().to_string(),
            TypeModifier::Length(n) => format!("{}({n})", self.ty.name()),
            TypeModifier::Numeric { precision, scale } => {
                format!("{}({precision},{scale})", self.ty.name())
            }
            // `format_type` puts the precision after the first word:
            // `timestamp(3) with time zone`.
            TypeModifier::Precision(p) => match self.ty.name().split_once(' ') {
                Some((first, rest)) => format!("{first}({p}) {rest}"),
                None => format!("{}({p})", self.ty.name()),
            },
        }
    }

    /// Parses what [`ColumnType::to_sql`] prints (and common spellings).
    pub fn parse(text: &str) -> Option<ColumnType> {
        let text = text.trim();
        // `timestamp(0) without time zone`: the modifier may stand mid-name.
        let joined;
        let (base, args) = match (text.find('('), text.find(')')) {
            (Some(open), Some(close)) if close > open && !text[close + 1..].trim().is_empty() => {
                joined = format!("{}{}", &text[..open], &text[close + 1..]);
                (joined.as_str(), Some(&text[open + 1..close]))
            }
            (Some(open), _) => (&text[..open], Some(text[open + 1..].trim_end_matches(')'))),
            _ => (text, None),
        };
        if base.eq_ignore_ascii_case("enum") {
            return args?.trim().parse().ok().map(ColumnType::enumerated);
        }
        let ty = PgType::from_sql_name(base)?;
        let modifier = match args {
            None => TypeModifier::None,
            Some(args) => {
                let nums: Vec<u32> = args
                    .split(',')
                    .map(|a| a.trim().parse().ok())
                    .collect::<Option<_>>()?;
                match (ty, nums.as_slice()) {
                    (PgType::Numeric, [p]) => TypeModifier::Numeric {
                        precision: *p,
                        scale: 0,
                    },
                    (PgType::Numeric, [p, s]) => TypeModifier::Numeric {
                        precision: *p,
                        scale: *s,
                    },
                    (PgType::Varchar | PgType::Bpchar, [n]) => TypeModifier::Length(*n),
                    (
                        PgType::Time | PgType::Timestamp | PgType::Timestamptz | PgType::Interval,
                        [p],
                    ) if *p <= 6 => TypeModifier::Precision(*p),
                    _ => TypeModifier::None,
                }
            }
        };
        Some(ColumnType { ty, modifier })
    }

    /// `atttypmod` as Postgres reports it in RowDescription (-1 when none).
    pub fn typmod(self) -> i32 {
        match self.modifier {
            TypeModifier::None | TypeModifier::Enum(_) => -1,
            TypeModifier::Length(n) => n as i32 + 4,
            TypeModifier::Precision(p) => p as i32,
            TypeModifier::Numeric { precision, scale } => (((precision << 16) | scale) + 4) as i32,
        }
    }

    /// The inverse of [`ColumnType::typmod`] for `format_type(oid, typmod)`.
    pub fn from_typmod(ty: PgType, typmod: i32) -> ColumnType {
        if matches!(
            ty,
            PgType::Time | PgType::Timestamp | PgType::Timestamptz | PgType::Interval
        ) && (0..=6).contains(&typmod)
        {
            return ColumnType {
                ty,
                modifier: TypeModifier::Precision(typmod as u32),
            };
        }
        let modifier = match (ty, u32::try_from(typmod - 4)) {
            (PgType::Varchar | PgType::Bpchar, Ok(n)) => TypeModifier::Length(n),
            (PgType::Numeric, Ok(m)) => TypeModifier::Numeric {
                precision: m >> 16,
                scale: m & 0xffff,
            },
            _ => TypeModifier::None,
        };
        ColumnType { ty, modifier }
    }
}
