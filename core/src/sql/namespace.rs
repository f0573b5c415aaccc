//! Parsing, checking and renaming one plugin statement.

use std::ops::ControlFlow;

use sqlparser::{
    ast::{
        helpers::stmt_create_table::CreateTableBuilder, AlterTableOperation, ArrayElemTypeDef,
        ColumnDef, ColumnOption, CreateTable, DataType, Expr, Ident, ObjectName, ObjectNamePart,
        ObjectType, Query, SetExpr, Statement, TableAlias, TableConstraint, TableFactor, VisitMut,
        VisitorMut,
    },
    dialect::{Dialect, PostgreSqlDialect, SQLiteDialect},
    parser::Parser,
};

/// The database the statement is for (the grammars differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Why a statement was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SQL refused: {0}")]
pub struct SqlRefusal(pub String);

fn refuse<T>(why: impl Into<String>) -> Result<T, SqlRefusal> {
    Err(SqlRefusal(why.into()))
}

/// The physical name of a plugin's table: `plugin_{slug}__{short}`, with
/// the slug's `-` as `_`.
///
/// The mapping is one-to-one: slugs have no `--` and no trailing `-`, and
/// short names start with a letter and have no `__`, so the first `__` after
/// `plugin_` always separates the two.
///
/// ```
/// use plugboard_core::sql::table_name;
/// assert_eq!(table_name("guestbook", "entries"), "plugin_guestbook__entries");
/// assert_ne!(table_name("a", "b_x"), table_name("a-b", "x"));
/// ```
pub fn table_name(slug: &str, short: &str) -> String {
    format!("{}{short}", table_prefix(slug))
}

/// The prefix of every table of `slug`.
///
/// ```
/// assert_eq!(plugboard_core::sql::table_prefix("username-policy"), "plugin_username_policy__");
/// ```
pub fn table_prefix(slug: &str) -> String {
    format!("plugin_{}__", slug.replace('-', "_"))
}

/// The longest identifier PostgreSQL keeps (longer ones are truncated, which
/// could make two names one).
const MAX_IDENTIFIER: usize = 63;

/// Names no plugin may use: system catalogs and other namespaces.
fn reserved(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("sqlite_") {
        Some("SQLite's internal tables")
    } else if lower.starts_with("pg_") || lower == "information_schema" {
        Some("the PostgreSQL catalog")
    } else if lower.starts_with("plugin_") {
        Some("the plugin namespaces (names beginning with plugin_ are reserved)")
    } else {
        None
    }
}

/// A plain short name: one unquoted identifier of letters, digits and `_`.
fn short_name(ident: &Ident) -> Result<String, SqlRefusal> {
    if ident.quote_style.is_some() {
        return refuse(format!("quoted name {ident} (use plain names)"));
    }
    let v = &ident.value;
    let ok = v.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !v.contains("__");
    if !ok {
        return refuse(format!(
            "name {v:?} must start with a letter and have only letters, digits and single _"
        ));
    }
    if let Some(what) = reserved(v) {
        return refuse(format!("{v:?} names {what}"));
    }
    Ok(v.to_ascii_lowercase())
}

fn object_short_name(name: &ObjectName) -> Result<String, SqlRefusal> {
    match name.0.as_slice() {
        [ObjectNamePart::Identifier(ident)] => short_name(ident),
        [_, _, ..] => refuse(format!(
            "schema-qualified name {name} (use the table's short name)"
        )),
        _ => refuse(format!("unsupported name {name}")),
    }
}

struct Renamer<'a> {
    slug: &'a str,
    backend: Backend,
    error: Option<SqlRefusal>,
}

impl Renamer<'_> {
    fn physical(&self, short: &str) -> Result<Ident, SqlRefusal> {
        let name = table_name(self.slug, short);
        if name.len() > MAX_IDENTIFIER {
            return refuse(format!(
                "name {short:?} is too long: {name} exceeds {MAX_IDENTIFIER} characters"
            ));
        }
        Ok(Ident::new(name))
    }
    fn rename(&self, name: &mut ObjectName) -> Result<(), SqlRefusal> {
        let short = object_short_name(name)?;
        *name = ObjectName::from(vec![self.physical(&short)?]);
        Ok(())
    }
    fn rename_ident(&self, ident: &mut Ident) -> Result<(), SqlRefusal> {
        let short = short_name(ident)?;
        *ident = self.physical(&short)?;
        Ok(())
    }
    /// A call is allowed when its one unquoted name is on the allowlist;
    /// the quotes are not part of the name (`"pg_read_file"(…)` is
    /// `pg_read_file`), and a schema-qualified function is refused.
    fn function(&self, name: &ObjectName) -> Result<(), SqlRefusal> {
        match name.0.as_slice() {
            [ObjectNamePart::Identifier(ident)]
                if super::functions::allowed_function(self.backend, &ident.value) =>
            {
                Ok(())
            }
            [ObjectNamePart::Identifier(ident)] => refuse(format!(
                "function {}() is not on the list of allowed functions",
                ident.value
            )),
            _ => refuse(format!("schema-qualified function {name}()")),
        }
    }
    /// A column's type: named types must be one plain name, so a column
    /// can never take the row type of a table in another schema (on
    /// PostgreSQL that would tie the host's table to the plugin's).
    fn data_type(&self, ty: &DataType) -> Result<(), SqlRefusal> {
        match ty {
            DataType::Custom(name, _) => match name.0.as_slice() {
                [ObjectNamePart::Identifier(ident)] if ident.quote_style.is_none() => Ok(()),
                _ => refuse(format!("type {name} (use a plain, unqualified type name)")),
            },
            DataType::Array(
                ArrayElemTypeDef::AngleBracket(inner)
                | ArrayElemTypeDef::SquareBracket(inner, _)
                | ArrayElemTypeDef::Parenthesis(inner),
            ) => self.data_type(inner),
            _ => Ok(()),
        }
    }
    fn check_column(&self, column: &mut ColumnDef) -> Result<(), SqlRefusal> {
        self.data_type(&column.data_type)?;
        for opt in &mut column.options {
            if let ColumnOption::ForeignKey { foreign_table, .. } = &mut opt.option {
                self.rename(foreign_table)?;
            }
        }
        Ok(())
    }
    fn stop(&mut self, r: Result<(), SqlRefusal>) -> ControlFlow<()> {
        match r {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                self.error = Some(e);
                ControlFlow::Break(())
            }
        }
    }
}

impl VisitorMut for Renamer<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        // CTE names are renamed like tables, so references to them (renamed as
        // relations) still resolve, and a CTE can never shadow a foreign table.
        let mut r = Ok(());
        if let Some(into) = select_into(&query.body) {
            r = refuse(format!(
                "SELECT … INTO {into} (use CREATE TABLE … AS SELECT)"
            ));
        } else if has_table_command(&query.body) {
            // `TABLE name` keeps its name as plain text the visitor never
            // sees (it would read any catalog by name).
            r = refuse("TABLE … (use SELECT * FROM …)");
        }
        if let (Ok(()), Some(with)) = (&r, &mut query.with) {
            for cte in &mut with.cte_tables {
                if let Err(e) = self.rename_ident(&mut cte.alias.name) {
                    r = Err(e);
                    break;
                }
            }
        }
        self.stop(r)
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let r = match factor {
            TableFactor::Table {
                name, alias, args, ..
            } => {
                if args.is_some() {
                    refuse(format!("table function {name}(…)"))
                } else {
                    // Keep the short name usable as a qualifier (`entries.id`).
                    match (alias.is_none(), object_short_name(name)) {
                        (true, Ok(short)) => {
                            *alias = Some(TableAlias {
                                name: Ident::new(short),
                                columns: vec![],
                            });
                            Ok(())
                        }
                        (_, Ok(_)) => Ok(()),
                        (_, Err(e)) => Err(e),
                    }
                }
            }
            TableFactor::Derived { .. } | TableFactor::NestedJoin { .. } => Ok(()),
            other => refuse(format!("unsupported table source {other}")),
        };
        self.stop(r)
    }

    fn pre_visit_relation(&mut self, relation: &mut ObjectName) -> ControlFlow<()> {
        let r = self.rename(relation);
        self.stop(r)
    }

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        let r = match expr {
            Expr::Function(f) => self.function(&f.name),
            Expr::Cast { data_type, .. } => self.data_type(data_type),
            _ => Ok(()),
        };
        self.stop(r)
    }
}

fn dialect(backend: Backend) -> Box<dyn Dialect> {
    match backend {
        Backend::Sqlite => Box::new(SQLiteDialect {}),
        Backend::Postgres => Box::new(PostgreSqlDialect {}),
    }
}

/// Renames the names that the relation visitor does not reach, and refuses
/// every statement kind outside the allowed set.
fn statement_names(stmt: &mut Statement, r: &Renamer<'_>) -> Result<(), SqlRefusal> {
    match stmt {
        Statement::Query(_)
        | Statement::Insert(_)
        | Statement::Update { .. }
        | Statement::Delete(_) => Ok(()),
        Statement::CreateTable(ct) => {
            plain_create_table(ct)?;
            for col in &mut ct.columns {
                r.check_column(col)?;
            }
            for c in &mut ct.constraints {
                if let TableConstraint::ForeignKey { foreign_table, .. } = c {
                    r.rename(foreign_table)?;
                }
            }
            Ok(())
        }
        Statement::CreateIndex(ci) => match &mut ci.name {
            Some(name) => r.rename(name),
            None => refuse("CREATE INDEX needs an index name"),
        },
        Statement::Drop {
            object_type, names, ..
        } => match object_type {
            ObjectType::Table | ObjectType::Index => names.iter_mut().try_for_each(|n| r.rename(n)),
            other => refuse(format!("DROP {other}")),
        },
        Statement::AlterTable { operations, .. } => {
            for op in operations.iter() {
                match op {
                    AlterTableOperation::AddColumn { .. }
                    | AlterTableOperation::DropColumn { .. }
                    | AlterTableOperation::RenameColumn { .. } => {}
                    other => return refuse(format!("ALTER TABLE … {other}")),
                }
            }
            for op in operations.iter_mut() {
                if let AlterTableOperation::AddColumn { column_def, .. } = op {
                    r.check_column(column_def)?;
                }
            }
            Ok(())
        }
        other => {
            let text = other.to_string();
            let head: String = text
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            refuse(format!("{head} statements are not allowed (only SELECT, INSERT, UPDATE, DELETE, CREATE/DROP TABLE, CREATE/DROP INDEX, ALTER TABLE columns)"))
        }
    }
}

/// The table a `SELECT … INTO` would create, in any branch of a set
/// operation (the relation visitor does not see that name).
fn select_into(body: &SetExpr) -> Option<&ObjectName> {
    match body {
        SetExpr::Select(select) => select.into.as_ref().map(|into| &into.name),
        SetExpr::SetOperation { left, right, .. } => {
            select_into(left).or_else(|| select_into(right))
        }
        SetExpr::Query(query) => select_into(&query.body),
        _ => None,
    }
}

/// Whether a branch of the query is the `TABLE name` command.
fn has_table_command(body: &SetExpr) -> bool {
    match body {
        SetExpr::Table(_) => true,
        SetExpr::SetOperation { left, right, .. } => {
            has_table_command(left) || has_table_command(right)
        }
        SetExpr::Query(query) => has_table_command(&query.body),
        _ => false,
    }
}

/// Refuses every clause of `CREATE TABLE` beyond columns, constraints,
/// `IF NOT EXISTS`, `AS SELECT`, `WITHOUT ROWID` and `STRICT`: `INHERITS`,
/// `LIKE`, `PARTITION OF`, `TEMPORARY`, storage options and the many
/// dialect-specific ones. Compared against a table built from the allowed
/// parts only, so a clause added by a newer parser is refused too.
fn plain_create_table(ct: &CreateTable) -> Result<(), SqlRefusal> {
    let plain = CreateTableBuilder::new(ct.name.clone())
        .columns(ct.columns.clone())
        .constraints(ct.constraints.clone())
        .if_not_exists(ct.if_not_exists)
        .query(ct.query.clone())
        .without_rowid(ct.without_rowid)
        .strict(ct.strict)
        // The parser fills in an empty Hive format for every dialect.
        .hive_formats(ct.hive_formats.clone().filter(|h| {
            h.row_format.is_none()
                && h.serde_properties.is_none()
                && h.storage.is_none()
                && h.location.is_none()
        }))
        .build();
    match plain {
        Statement::CreateTable(plain) if &plain == ct => Ok(()),
        _ => refuse(format!(
            "CREATE TABLE {} has clauses that are not allowed (only columns, constraints, \
             IF NOT EXISTS, AS SELECT, WITHOUT ROWID, STRICT)",
            ct.name
        )),
    }
}

/// PostgreSQL numbers placeholders (`$1`); plugins write `?` for both
/// databases. Rewrites each `?` outside string literals, quoted identifiers,
/// dollar-quoted strings and comments to `$n`. (The isolation check runs on
/// the result, so a mistake here can only make a statement fail, not escape.)
fn number_placeholders(sql: &str) -> Result<String, SqlRefusal> {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 8);
    let (mut i, mut n, mut copied) = (0, 0, 0);
    let skip_to = |from: usize, end: &str| -> usize {
        sql[from..]
            .find(end)
            .map(|k| from + k + end.len())
            .unwrap_or(sql.len())
    };
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => i = skip_to(i + 1, "'"),
            b'"' => i = skip_to(i + 1, "\""),
            b'-' if bytes.get(i + 1) == Some(&b'-') => i = skip_to(i + 2, "\n"),
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_to(i + 2, "*/"),
            b'$' => {
                // $tag$ … $tag$ (tag may be empty); $1 is a plain placeholder.
                let tag_end = sql[i + 1..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
                match tag_end.map(|k| i + 1 + k) {
                    Some(j) if bytes[j] == b'$' && !bytes[i + 1].is_ascii_digit() => {
                        let tag = &sql[i..=j];
                        i = skip_to(j + 1, tag);
                    }
                    _ => i += 1,
                }
            }
            b'?' => {
                n += 1;
                out.push_str(&sql[copied..i]);
                out.push_str(&format!("${n}"));
                i += 1;
                copied = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[copied..]);
    Ok(out)
}

/// Checks one statement and rewrites it into `slug`'s namespace.
///
/// ```
/// use plugboard_core::sql::{namespace, Backend};
/// let sql = namespace("SELECT id FROM entries WHERE id = ?", "guestbook", Backend::Sqlite).unwrap();
/// assert_eq!(sql, "SELECT id FROM plugin_guestbook__entries AS entries WHERE id = ?");
/// assert!(namespace("SELECT * FROM main.users", "guestbook", Backend::Sqlite).is_err());
/// ```
pub fn namespace(sql: &str, slug: &str, backend: Backend) -> Result<String, SqlRefusal> {
    let numbered;
    let sql = if backend == Backend::Postgres {
        numbered = number_placeholders(sql)?;
        numbered.as_str()
    } else {
        sql
    };
    let mut statements = Parser::parse_sql(&*dialect(backend), sql)
        .map_err(|e| SqlRefusal(format!("cannot parse the statement: {e}")))?;
    let mut stmt = match statements.len() {
        1 => statements.remove(0),
        0 => return refuse("empty statement"),
        n => return refuse(format!("{n} statements in one string (send one at a time)")),
    };
    let mut renamer = Renamer {
        slug,
        backend,
        error: None,
    };
    statement_names(&mut stmt, &renamer)?;
    let _ = stmt.visit(&mut renamer);
    if let Some(e) = renamer.error {
        return Err(e);
    }
    Ok(stmt.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(sql: &str) -> String {
        namespace(sql, "gb", Backend::Sqlite).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn refused(sql: &str) -> String {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            if let Ok(out) = namespace(sql, "gb", backend) {
                panic!("{backend:?} accepted {sql:?} as {out:?}");
            }
        }
        namespace(sql, "gb", Backend::Sqlite).unwrap_err().0
    }

    #[test]
    fn names_are_moved_into_the_namespace() {
        assert_eq!(
            ok("CREATE TABLE entries (id INTEGER PRIMARY KEY, author_id INTEGER REFERENCES authors(id))"),
            "CREATE TABLE plugin_gb__entries (id INTEGER PRIMARY KEY, author_id INTEGER REFERENCES plugin_gb__authors (id))"
        );
        assert_eq!(
            ok("INSERT INTO entries (id) VALUES (?)"),
            "INSERT INTO plugin_gb__entries (id) VALUES (?)"
        );
        assert_eq!(
            ok("SELECT entries.id, a.name FROM entries JOIN authors a ON a.id = entries.author_id"),
            "SELECT entries.id, a.name FROM plugin_gb__entries AS entries JOIN plugin_gb__authors AS a ON a.id = entries.author_id"
        );
        assert_eq!(
            ok("WITH recent AS (SELECT * FROM entries) SELECT * FROM recent"),
            "WITH plugin_gb__recent AS (SELECT * FROM plugin_gb__entries AS entries) SELECT * FROM plugin_gb__recent AS recent"
        );
        assert_eq!(
            ok("DELETE FROM entries WHERE id IN (SELECT id FROM old)"),
            "DELETE FROM plugin_gb__entries AS entries WHERE id IN (SELECT id FROM plugin_gb__old AS old)"
        );
        assert_eq!(
            ok("CREATE INDEX by_author ON entries (author_id)"),
            "CREATE INDEX plugin_gb__by_author ON plugin_gb__entries(author_id)"
        );
        assert_eq!(ok("DROP TABLE entries"), "DROP TABLE plugin_gb__entries");
        assert_eq!(
            ok("ALTER TABLE entries ADD COLUMN body TEXT"),
            "ALTER TABLE plugin_gb__entries ADD COLUMN body TEXT"
        );
        assert!(ok("UPDATE entries SET body = 'x' WHERE id = 1")
            .starts_with("UPDATE plugin_gb__entries"));
    }

    #[test]
    fn placeholders_inside_literals_and_comments_are_left_alone() {
        assert_eq!(
            number_placeholders(
                "SELECT '?', \"a?\", $x$?$x$ FROM t WHERE a = ? /* ? */ AND b = ? -- ?\n"
            )
            .unwrap(),
            "SELECT '?', \"a?\", $x$?$x$ FROM t WHERE a = $1 /* ? */ AND b = $2 -- ?\n"
        );
        assert_eq!(
            number_placeholders("VALUES (?,?)").unwrap(),
            "VALUES ($1,$2)"
        );
    }

    #[test]
    fn postgres_placeholders_are_numbered_in_order() {
        let sql = namespace(
            "UPDATE notes SET body = ? WHERE id = ? AND rank > ?",
            "gb",
            Backend::Postgres,
        )
        .unwrap();
        assert_eq!(
            sql,
            "UPDATE plugin_gb__notes AS notes SET body = $1 WHERE id = $2 AND rank > $3"
        );
    }

    #[test]
    fn a_cte_cannot_shadow_a_foreign_table() {
        // Inside the CTE, `users` is the plugin's own users table, not the host's.
        assert_eq!(
            ok("WITH users AS (SELECT * FROM users) SELECT * FROM users"),
            "WITH plugin_gb__users AS (SELECT * FROM plugin_gb__users AS users) SELECT * FROM plugin_gb__users AS users"
        );
    }

    /// The shared list (`core/tests/data/sql-refusals.tsv`): each case is
    /// refused on both dialects, for the stated reason.
    #[test]
    fn everything_that_reaches_outside_is_refused() {
        for (needle, sql) in sql_refusal_cases() {
            let why = refused(sql);
            assert!(
                why.contains(needle),
                "{sql:?} refused for the wrong reason: {why}"
            );
        }
    }

    include!("../../tests/data/sql_refusals.rs");
}
