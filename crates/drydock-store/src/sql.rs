//! One small SQL seam over the two backends: SQLite (rusqlite, embedded)
//! and PostgreSQL (the synchronous `postgres` client).
//!
//! Statements are written once, in the common subset of both dialects, with
//! `$1`, `$2`, … placeholders (rewritten to `?1`, `?2`, … for SQLite). DDL
//! uses `{id}` for an auto-incrementing 64-bit primary key, `{blob}` for
//! bytes and `{real}` for a double; everything else is `BIGINT`/`TEXT`.
use std::fmt;

use postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use crate::StoreError;

/// A parameter or a column value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Int(value)
    }
}
impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Int(i64::from(value))
    }
}
impl From<f64> for Value {
    fn from(value: f64) -> Self {
        Value::Real(value)
    }
}
impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Text(value.to_owned())
    }
}
impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::Text(value)
    }
}
impl From<&String> for Value {
    fn from(value: &String) -> Self {
        Value::Text(value.clone())
    }
}
impl From<Vec<u8>> for Value {
    fn from(value: Vec<u8>) -> Self {
        Value::Blob(value)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::Null, Into::into)
    }
}

/// `[v1, v2, …]` as `[Value; N]` (statement parameters).
#[macro_export]
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        [$($crate::sql::Value::from($value)),*]
    };
}

/// `[v1, v2, …]` as `Vec<Value>` (a row to insert).
#[macro_export]
macro_rules! row {
    ($($value:expr),* $(,)?) => {
        vec![$($crate::sql::Value::from($value)),*]
    };
}

/// One result row.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn at(&self, index: usize) -> &Value {
        self.0.get(index).unwrap_or(&Value::Null)
    }
    pub fn int(&self, index: usize) -> i64 {
        match self.at(index) {
            Value::Int(value) => *value,
            Value::Real(value) => *value as i64,
            Value::Text(text) => text.parse().unwrap_or(0),
            _ => 0,
        }
    }
    pub fn opt_int(&self, index: usize) -> Option<i64> {
        match self.at(index) {
            Value::Null => None,
            _ => Some(self.int(index)),
        }
    }
    pub fn real(&self, index: usize) -> f64 {
        match self.at(index) {
            Value::Real(value) => *value,
            Value::Int(value) => *value as f64,
            _ => 0.0,
        }
    }
    pub fn text(&self, index: usize) -> String {
        self.opt_text(index).unwrap_or_default()
    }
    pub fn opt_text(&self, index: usize) -> Option<String> {
        match self.at(index) {
            Value::Text(text) => Some(text.clone()),
            Value::Int(value) => Some(value.to_string()),
            Value::Blob(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
            _ => None,
        }
    }
    /// The text at `index`, moved out of the row (an empty text is left
    /// there): [`Row::opt_text`] without copying.
    pub fn take_text(&mut self, index: usize) -> Option<String> {
        match self.0.get_mut(index) {
            Some(Value::Text(text)) => Some(std::mem::take(text)),
            Some(Value::Null) | None => None,
            Some(_) => self.opt_text(index),
        }
    }
    pub fn blob(&self, index: usize) -> Vec<u8> {
        match self.at(index) {
            Value::Blob(bytes) => bytes.clone(),
            Value::Text(text) => text.clone().into_bytes(),
            _ => Vec::new(),
        }
    }
}

/// Which SQL engine a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

pub(crate) enum Conn {
    Sqlite(Box<rusqlite::Connection>),
    Postgres(Box<postgres::Client>),
}

impl Conn {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs statements separated by `;` with no parameters (DDL).
    pub(crate) fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        let sql = ddl(sql, self.backend());
        match self {
            Conn::Sqlite(conn) => conn.execute_batch(&sql).map_err(|e| sql_error(&sql, e)),
            Conn::Postgres(client) => client.batch_execute(&sql).map_err(|e| pg_error(&sql, e)),
        }
    }

    pub(crate) fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        match self {
            Conn::Sqlite(conn) => {
                let sql = sqlite_placeholders(sql);
                let mut statement = conn.prepare_cached(&sql).map_err(|e| sql_error(&sql, e))?;
                let changed = statement
                    .execute(rusqlite::params_from_iter(params.iter().map(SqliteValue)))
                    .map_err(|e| sql_error(&sql, e))?;
                Ok(changed as u64)
            }
            Conn::Postgres(client) => {
                let refs: Vec<&(dyn ToSql + Sync)> = params
                    .iter()
                    .map(|value| value as &(dyn ToSql + Sync))
                    .collect();
                client.execute(sql, &refs).map_err(|e| pg_error(sql, e))
            }
        }
    }

    pub(crate) fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let mut rows = Vec::new();
        self.query_each(sql, params, |row| {
            rows.push(row);
            Ok(())
        })?;
        Ok(rows)
    }

    pub(crate) fn query_one(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// Runs `sql` once per chunk of `values` (at most 500 at a time), its
    /// `{in}` replaced by the chunk's placeholders (`$1, $2, …`), calling
    /// `each` for every row: `… WHERE id IN ({in})` over any number of ids.
    pub(crate) fn query_each_in(
        &mut self,
        sql: &str,
        values: &[Value],
        mut each: impl FnMut(Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        for chunk in values.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = sql.replace("{in}", &placeholders.join(", "));
            self.query_each(&sql, chunk, &mut each)?;
        }
        Ok(())
    }

    /// Calls `each` for every row, without collecting them first.
    pub(crate) fn query_each(
        &mut self,
        sql: &str,
        params: &[Value],
        mut each: impl FnMut(Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        match self {
            Conn::Sqlite(conn) => {
                let sql = sqlite_placeholders(sql);
                let mut statement = conn.prepare_cached(&sql).map_err(|e| sql_error(&sql, e))?;
                let columns = statement.column_count();
                let mut rows = statement
                    .query(rusqlite::params_from_iter(params.iter().map(SqliteValue)))
                    .map_err(|e| sql_error(&sql, e))?;
                while let Some(row) = rows.next().map_err(|e| sql_error(&sql, e))? {
                    let mut values = Vec::with_capacity(columns);
                    for index in 0..columns {
                        let value = match row.get_ref(index).map_err(|e| sql_error(&sql, e))? {
                            rusqlite::types::ValueRef::Null => Value::Null,
                            rusqlite::types::ValueRef::Integer(v) => Value::Int(v),
                            rusqlite::types::ValueRef::Real(v) => Value::Real(v),
                            rusqlite::types::ValueRef::Text(t) => {
                                Value::Text(String::from_utf8_lossy(t).into_owned())
                            }
                            rusqlite::types::ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                        };
                        values.push(value);
                    }
                    each(Row(values))?;
                }
                Ok(())
            }
            Conn::Postgres(client) => {
                let refs: Vec<&(dyn ToSql + Sync)> = params
                    .iter()
                    .map(|value| value as &(dyn ToSql + Sync))
                    .collect();
                let rows = client.query(sql, &refs).map_err(|e| pg_error(sql, e))?;
                for row in rows {
                    let mut values = Vec::with_capacity(row.len());
                    for (index, column) in row.columns().iter().enumerate() {
                        let ty = column.type_();
                        let value = if *ty == Type::INT8 {
                            row.try_get::<_, Option<i64>>(index)
                                .map(|v| v.map_or(Value::Null, Value::Int))
                        } else if *ty == Type::INT4 {
                            row.try_get::<_, Option<i32>>(index)
                                .map(|v| v.map_or(Value::Null, |v| Value::Int(i64::from(v))))
                        } else if *ty == Type::INT2 {
                            row.try_get::<_, Option<i16>>(index)
                                .map(|v| v.map_or(Value::Null, |v| Value::Int(i64::from(v))))
                        } else if *ty == Type::BOOL {
                            row.try_get::<_, Option<bool>>(index)
                                .map(|v| v.map_or(Value::Null, |v| Value::Int(i64::from(v))))
                        } else if *ty == Type::FLOAT8 {
                            row.try_get::<_, Option<f64>>(index)
                                .map(|v| v.map_or(Value::Null, Value::Real))
                        } else if *ty == Type::FLOAT4 {
                            row.try_get::<_, Option<f32>>(index)
                                .map(|v| v.map_or(Value::Null, |v| Value::Real(f64::from(v))))
                        } else if *ty == Type::BYTEA {
                            row.try_get::<_, Option<Vec<u8>>>(index)
                                .map(|v| v.map_or(Value::Null, Value::Blob))
                        } else if *ty == Type::NUMERIC {
                            // SUM() of BIGINT: read through its text form.
                            Ok(Value::Null)
                        } else {
                            row.try_get::<_, Option<String>>(index)
                                .map(|v| v.map_or(Value::Null, Value::Text))
                        };
                        values.push(value.map_err(|e| pg_error(sql, e))?);
                    }
                    each(Row(values))?;
                }
                Ok(())
            }
        }
    }

    /// Runs `work` in one transaction: committed when it returns `Ok`,
    /// rolled back otherwise.
    pub(crate) fn transaction<T>(
        &mut self,
        work: impl FnOnce(&mut Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.begin()?;
        let result = work(self);
        self.end(result)
    }

    /// Starts a transaction (SQLite: taking the write lock at once).
    pub(crate) fn begin(&mut self) -> Result<(), StoreError> {
        self.batch(match self.backend() {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        })
    }

    /// Commits when `result` is a value, rolls back when it is an error.
    pub(crate) fn end<T>(&mut self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        match result {
            Ok(value) => {
                self.batch("COMMIT")?;
                Ok(value)
            }
            Err(error) => {
                let _ = self.batch("ROLLBACK");
                Err(error)
            }
        }
    }

    /// Inserts many rows of `columns` into `table` (`INSERT … VALUES`, many
    /// rows per statement on PostgreSQL, one prepared statement on SQLite).
    /// `suffix` follows the values (e.g. `ON CONFLICT DO NOTHING`).
    pub(crate) fn insert_many(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &[Vec<Value>],
        suffix: &str,
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let width = columns.len();
        let placeholders = |offset: usize| {
            let list: Vec<String> = (1..=width).map(|i| format!("${}", offset + i)).collect();
            format!("({})", list.join(", "))
        };
        match self.backend() {
            Backend::Sqlite => {
                let sql = format!(
                    "INSERT INTO {table} ({}) VALUES {} {suffix}",
                    columns.join(", "),
                    placeholders(0)
                );
                for row in rows {
                    self.execute(&sql, row)?;
                }
            }
            Backend::Postgres => {
                let per_statement = (30_000 / width.max(1)).max(1);
                for chunk in rows.chunks(per_statement) {
                    let groups: Vec<String> =
                        (0..chunk.len()).map(|i| placeholders(i * width)).collect();
                    let sql = format!(
                        "INSERT INTO {table} ({}) VALUES {} {suffix}",
                        columns.join(", "),
                        groups.join(", ")
                    );
                    let params: Vec<Value> = chunk.iter().flatten().cloned().collect();
                    self.execute(&sql, &params)?;
                }
            }
        }
        Ok(())
    }
}

/// `{id}`, `{blob}`, `{real}` in DDL for the backend.
fn ddl(sql: &str, backend: Backend) -> String {
    match backend {
        Backend::Sqlite => sql
            .replace("{id}", "INTEGER PRIMARY KEY AUTOINCREMENT")
            .replace("{blob}", "BLOB")
            .replace("{real}", "REAL"),
        Backend::Postgres => sql
            .replace("{id}", "BIGSERIAL PRIMARY KEY")
            .replace("{blob}", "BYTEA")
            .replace("{real}", "DOUBLE PRECISION"),
    }
}

/// `$1` → `?1` outside string literals.
fn sqlite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c == '$' && !quoted && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

fn sql_error(sql: &str, source: rusqlite::Error) -> StoreError {
    StoreError::Sqlite {
        statement: first_words(sql),
        source,
    }
}

fn pg_error(sql: &str, source: postgres::Error) -> StoreError {
    StoreError::Postgres {
        statement: first_words(sql),
        source,
    }
}

fn first_words(sql: &str) -> String {
    let words: Vec<&str> = sql.split_whitespace().take(6).collect();
    words.join(" ")
}

struct SqliteValue<'a>(&'a Value);

impl rusqlite::ToSql for SqliteValue<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Real(v) => ToSqlOutput::Borrowed(ValueRef::Real(*v)),
            Value::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => {
                if *ty == Type::INT4 {
                    i32::try_from(*v)?.to_sql(ty, out)
                } else if *ty == Type::INT2 {
                    i16::try_from(*v)?.to_sql(ty, out)
                } else if *ty == Type::BOOL {
                    (*v != 0).to_sql(ty, out)
                } else if *ty == Type::FLOAT8 {
                    (*v as f64).to_sql(ty, out)
                } else if *ty == Type::TEXT || *ty == Type::VARCHAR {
                    v.to_string().to_sql(ty, out)
                } else {
                    v.to_sql(ty, out)
                }
            }
            Value::Real(v) => {
                if *ty == Type::FLOAT4 {
                    (*v as f32).to_sql(ty, out)
                } else {
                    v.to_sql(ty, out)
                }
            }
            Value::Text(t) => t.as_str().to_sql(ty, out),
            Value::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_outside_literals() {
        assert_eq!(
            sqlite_placeholders("SELECT '$1', $1 WHERE a = $12"),
            "SELECT '$1', ?1 WHERE a = ?12"
        );
    }
}
