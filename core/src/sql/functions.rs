//! The SQL functions a plugin statement may call: an allowlist per database,
//! compared on the function's unquoted, lower-cased name.
//!
//! The namespace rewriter refuses any other function (the friendly first
//! line); on SQLite the connection's authorizer refuses it again inside the
//! engine (`sql::sandbox::sqlite`). On PostgreSQL the engine's line is the
//! plugin's own role, which has no privilege on anything outside its schema,
//! so a function that would read another table (`table_to_xml`), a file
//! (`pg_read_file`) or a host sequence (`setval`) fails there even if it were
//! allowed here.
//!
//! A function missing from a list is refused, so a newer database's new
//! function is refused until someone adds it after reading what it does.

use super::Backend;

/// Functions both databases provide with the same meaning.
const COMMON: &[&str] = &[
    // aggregates
    "avg",
    "count",
    "max",
    "min",
    "sum",
    // scalar
    "abs",
    "coalesce",
    "concat",
    "concat_ws",
    "length",
    "lower",
    "ltrim",
    "nullif",
    "random",
    "replace",
    "round",
    "rtrim",
    "sign",
    "substr",
    "substring",
    "trim",
    "upper",
    "ceil",
    "ceiling",
    "floor",
    "exp",
    "ln",
    "log",
    "mod",
    "pi",
    "power",
    "sqrt",
    // the SQL standard's date keywords, which both parse as functions
    "current_date",
    "current_time",
    "current_timestamp",
    // window functions
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "ntile",
    "lag",
    "lead",
    "first_value",
    "last_value",
    "nth_value",
];

/// SQLite's own functions that stay inside the statement's data.
const SQLITE: &[&str] = &[
    "changes",
    "char",
    "format",
    "glob",
    "group_concat",
    "hex",
    "ifnull",
    "iif",
    "instr",
    "last_insert_rowid",
    "like",
    "likelihood",
    "likely",
    "octet_length",
    "printf",
    "quote",
    "randomblob",
    "soundex",
    "string_agg",
    "total",
    "total_changes",
    "typeof",
    "unhex",
    "unicode",
    "unlikely",
    "zeroblob",
    "date",
    "time",
    "datetime",
    "julianday",
    "unixepoch",
    "strftime",
    "timediff",
    "log10",
    "log2",
    "pow",
    "trunc",
    "json",
    "json_array",
    "json_array_length",
    "json_error_position",
    "json_extract",
    "json_group_array",
    "json_group_object",
    "json_insert",
    "json_object",
    "json_patch",
    "json_quote",
    "json_remove",
    "json_replace",
    "json_set",
    "json_type",
    "json_valid",
    "jsonb",
    "jsonb_array",
    "jsonb_extract",
    "jsonb_insert",
    "jsonb_object",
    "jsonb_patch",
    "jsonb_remove",
    "jsonb_replace",
    "jsonb_set",
];

/// PostgreSQL functions that compute on their arguments only. Nothing that
/// names a relation, a sequence or a setting by a string argument
/// (`*_to_xml`, `nextval`/`setval`, `set_config`, `current_setting`), reads
/// files or large objects, sleeps, or signals other sessions.
const POSTGRES: &[&str] = &[
    "array_agg",
    "array_length",
    "array_position",
    "array_to_string",
    "bool_and",
    "bool_or",
    "btrim",
    "cardinality",
    "char_length",
    "character_length",
    "chr",
    "date_part",
    "date_trunc",
    "decode",
    "encode",
    "every",
    "format",
    "gen_random_uuid",
    "greatest",
    "initcap",
    "least",
    "left",
    "lpad",
    "md5",
    "make_date",
    "make_interval",
    "make_timestamp",
    "make_timestamptz",
    "now",
    "position",
    "regexp_replace",
    "regexp_match",
    "repeat",
    "reverse",
    "right",
    "rpad",
    "split_part",
    "starts_with",
    "string_agg",
    "string_to_array",
    "strpos",
    "to_char",
    "to_date",
    "to_number",
    "to_timestamp",
    "trunc",
    "unnest",
    "age",
    "extract",
    "json_agg",
    "json_array_length",
    "json_build_array",
    "json_build_object",
    "json_extract_path",
    "json_extract_path_text",
    "json_object_agg",
    "json_typeof",
    "jsonb_agg",
    "jsonb_array_length",
    "jsonb_build_array",
    "jsonb_build_object",
    "jsonb_extract_path",
    "jsonb_extract_path_text",
    "jsonb_insert",
    "jsonb_object_agg",
    "jsonb_set",
    "jsonb_strip_nulls",
    "jsonb_typeof",
    "to_json",
    "to_jsonb",
    "log10",
    "div",
];

/// Whether a plugin statement may call `name` on `backend`. `name` is the
/// function's name as the database resolves it: unquoted and compared
/// without regard to case, so `"PG_READ_FILE"`, `"pg_read_file"` and
/// `pg_read_file` are one name.
///
/// ```
/// use plugboard_core::sql::{allowed_function, Backend};
/// assert!(allowed_function(Backend::Sqlite, "COUNT"));
/// assert!(!allowed_function(Backend::Sqlite, "load_extension"));
/// assert!(!allowed_function(Backend::Postgres, "pg_read_file"));
/// assert!(!allowed_function(Backend::Postgres, "table_to_xml"));
/// assert!(!allowed_function(Backend::Postgres, "setval"));
/// ```
pub fn allowed_function(backend: Backend, name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let own = match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    COMMON.contains(&lower.as_str()) || own.contains(&lower.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_hold_plain_lower_case_names_once() {
        for list in [COMMON, SQLITE, POSTGRES] {
            for name in list {
                assert!(
                    name.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                    "{name}"
                );
            }
        }
        let mut all: Vec<_> = COMMON.iter().chain(SQLITE).collect();
        all.sort();
        let n = all.len();
        all.dedup();
        assert_eq!(all.len(), n, "a name is listed twice (COMMON and SQLITE)");
    }

    #[test]
    fn functions_that_reach_outside_are_not_allowed() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            for name in [
                "load_extension",
                "fts3_tokenizer",
                "readfile",
                "writefile",
                "pg_read_file",
                "pg_sleep",
                "lo_export",
                "lo_import",
                "set_config",
                "current_setting",
                "table_to_xml",
                "query_to_xml",
                "database_to_xml",
                "setval",
                "nextval",
                "currval",
                "dblink",
                "sqlite_version",
            ] {
                assert!(!allowed_function(backend, name), "{backend:?} {name}");
            }
        }
    }
}
