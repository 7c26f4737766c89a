//! The bottom layer: what the features ask of a database, and the two databases that answer.
//!
//! A feature writes each statement once, in PostgreSQL's spelling (`$1`, `$2`, ...), with
//! [`Value`] parameters, and decodes the [`Row`]s it gets back. The SQLite side reads `$N` as
//! `?N`. Where the dialects truly differ a feature asks [`Db::dialect`]; what is per database by
//! nature (ingest's engine, the pull's page, streaming, imports) stays on [`crate::store::Store`],
//! implemented in [`sqlite`] and [`postgres`].

pub mod filter;
pub mod ingest;
pub mod migrations;
pub mod postgres;
pub mod quality;
pub mod rows;
pub mod sqlite;

use async_trait::async_trait;
use uuid::Uuid;

use crate::store::StoreError;

/// A parameter or a column's value, in the few types Doorstep stores.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
    /// A UUID column on PostgreSQL, 16 bytes on SQLite.
    Uuid(Uuid),
    /// A BOOLEAN on PostgreSQL, 0 or 1 on SQLite.
    Bool(bool),
}

macro_rules! value_from {
    ($($t:ty => $v:expr),* $(,)?) => {
        $(impl From<$t> for Value {
            fn from(x: $t) -> Value {
                #[allow(clippy::redundant_closure_call)]
                ($v)(x)
            }
        })*
    };
}

value_from! {
    i64 => Value::Int,
    i32 => |x: i32| Value::Int(x.into()),
    u32 => |x: u32| Value::Int(x.into()),
    f64 => Value::Float,
    bool => Value::Bool,
    String => Value::Text,
    &str => |x: &str| Value::Text(x.to_string()),
    &String => |x: &String| Value::Text(x.clone()),
    Vec<u8> => Value::Bytes,
    &[u8] => |x: &[u8]| Value::Bytes(x.to_vec()),
    [u8; 32] => |x: [u8; 32]| Value::Bytes(x.to_vec()),
    Uuid => Value::Uuid,
    &Uuid => |x: &Uuid| Value::Uuid(*x),
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(x: Option<T>) -> Value {
        x.map_or(Value::Null, Into::into)
    }
}

/// Parameters for a statement: `params![a, b]` is `vec![Value::from(a), Value::from(b)]`.
#[macro_export]
macro_rules! params {
    ($($p:expr),* $(,)?) => { vec![$($crate::db::Value::from($p)),*] };
}
pub use crate::params;

/// A row of an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Value>);

impl Row {
    /// Column `i` as a `T`; an error names the column and what it held.
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T, StoreError> {
        let v = self.0.get(i).unwrap_or(&Value::Null);
        T::from_value(v).ok_or_else(|| StoreError::Db(format!("column {i} holds {v:?}, not {}", T::WHAT)))
    }

    /// The first columns as a tuple (see [`FromColumns`]).
    pub fn columns<T: FromColumns>(&self) -> Result<T, StoreError> {
        T::from_columns(self, 0)
    }

    /// The columns from `at` onwards as a tuple.
    pub fn columns_at<T: FromColumns>(&self, at: usize) -> Result<T, StoreError> {
        T::from_columns(self, at)
    }
}

/// Columns read together, from the first one onwards: a tuple of [`FromValue`]s, so a decoder
/// is one line, `let (id, name, area) = r.columns()?;`, with the types taken from where the
/// values go.
pub trait FromColumns: Sized {
    /// The columns from `at` onwards.
    fn from_columns(r: &Row, at: usize) -> Result<Self, StoreError>;
}

macro_rules! tuple_from_columns {
    ($($t:ident $i:tt),+) => {
        impl<$($t: FromValue),+> FromColumns for ($($t,)+) {
            fn from_columns(r: &Row, at: usize) -> Result<Self, StoreError> {
                Ok(($(r.get::<$t>(at + $i)?,)+))
            }
        }
    };
}
tuple_from_columns!(A 0, B 1);
tuple_from_columns!(A 0, B 1, C 2);
tuple_from_columns!(A 0, B 1, C 2, D 3);
tuple_from_columns!(A 0, B 1, C 2, D 3, E 4);
tuple_from_columns!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_from_columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_from_columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_from_columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_from_columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_from_columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_from_columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
tuple_from_columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12);
tuple_from_columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13);

/// A column's value read as a Rust type.
pub trait FromValue: Sized {
    const WHAT: &'static str;
    fn from_value(v: &Value) -> Option<Self>;
}

impl FromValue for i64 {
    const WHAT: &'static str = "an integer";
    fn from_value(v: &Value) -> Option<i64> {
        match v {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(*b as i64),
            _ => None,
        }
    }
}

impl FromValue for i32 {
    const WHAT: &'static str = "a 32-bit integer";
    fn from_value(v: &Value) -> Option<i32> {
        i64::from_value(v).and_then(|i| i32::try_from(i).ok())
    }
}

impl FromValue for f64 {
    const WHAT: &'static str = "a number";
    fn from_value(v: &Value) -> Option<f64> {
        match v {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
}

impl FromValue for bool {
    const WHAT: &'static str = "a boolean";
    fn from_value(v: &Value) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            Value::Int(i) => Some(*i != 0),
            _ => None,
        }
    }
}

impl FromValue for String {
    const WHAT: &'static str = "text";
    fn from_value(v: &Value) -> Option<String> {
        match v {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}

impl FromValue for Vec<u8> {
    const WHAT: &'static str = "bytes";
    fn from_value(v: &Value) -> Option<Vec<u8>> {
        match v {
            Value::Bytes(b) => Some(b.clone()),
            Value::Uuid(u) => Some(u.as_bytes().to_vec()),
            _ => None,
        }
    }
}

impl FromValue for Uuid {
    const WHAT: &'static str = "a UUID";
    fn from_value(v: &Value) -> Option<Uuid> {
        match v {
            Value::Uuid(u) => Some(*u),
            Value::Bytes(b) => Uuid::from_slice(b).ok(),
            _ => None,
        }
    }
}

/// A role as stored; an unknown one (a newer schema) is an error, not a guess.
impl FromValue for doorstep_domain::account::Role {
    const WHAT: &'static str = "a role";
    fn from_value(v: &Value) -> Option<doorstep_domain::account::Role> {
        match v {
            Value::Text(s) => doorstep_domain::account::Role::parse("role", s).ok(),
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    const WHAT: &'static str = T::WHAT;
    fn from_value(v: &Value) -> Option<Option<T>> {
        match v {
            Value::Null => Some(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// One statement of a transaction.
#[derive(Debug, Clone)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<Value>,
}

impl Statement {
    pub fn new(sql: impl Into<String>, params: Vec<Value>) -> Statement {
        Statement { sql: sql.into(), params }
    }
}

/// What one statement of a transaction did: the rows it answered (`RETURNING`, `SELECT`) and
/// how many rows it changed.
#[derive(Debug, Clone, Default)]
pub struct Done {
    pub rows: Vec<Row>,
    pub changed: u64,
}

/// Which database answers, for the few statements whose spelling differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The text for this database: `pick(sqlite, postgres)`.
    pub fn pick<'a>(self, sqlite: &'a str, postgres: &'a str) -> &'a str {
        match self {
            Dialect::Sqlite => sqlite,
            Dialect::Postgres => postgres,
        }
    }

    /// What locks the rows a `SELECT` reads until the transaction ends: `FOR UPDATE` on
    /// PostgreSQL; nothing on SQLite, whose writing transactions run one at a time.
    pub fn for_update(self) -> &'static str {
        self.pick("", " FOR UPDATE")
    }

    /// A table (one column, `value`) of the texts in a JSON array passed as parameter `$n`:
    /// how a statement takes a list of any length on both databases ([`json_list`]).
    pub fn json_texts(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("json_each(${n})"),
            Dialect::Postgres => format!("json_array_elements_text(${n}::json)"),
        }
    }
}

/// A list as one parameter, for [`Dialect::json_texts`].
pub fn json_list<T: serde::Serialize>(items: &[T]) -> Result<Value, StoreError> {
    serde_json::to_string(items).map(Value::Text).map_err(|e| StoreError::Task(e.to_string()))
}

/// How busy a database is at this moment (for `/metrics`); zero where it does not apply.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// Push batches waiting for SQLite's writer thread.
    pub writer_queue: i64,
    /// PostgreSQL's pool: connections open, idle, requests waiting for one, and its largest size.
    pub pool_size: i64,
    pub pool_idle: i64,
    pub pool_waiting: i64,
    pub pool_max: i64,
}

/// Told how long each push's transaction took to store and commit (for `/metrics`).
pub type CommitTimer = std::sync::Arc<dyn Fn(std::time::Duration) + Send + Sync>;

/// What a feature asks of a database: statements with parameters, rows back, and transactions.
#[async_trait]
pub trait Db: Send + Sync {
    fn dialect(&self) -> Dialect;

    /// How busy it is now.
    fn load(&self) -> Load {
        Load::default()
    }

    /// From now on, tells `timer` how long each push's commit took (the last one set is told).
    fn time_commits(&self, _timer: CommitTimer) {}

    /// The rows a statement answers. On SQLite it runs on a reader, so it must not write.
    async fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>, StoreError>;

    /// Runs a statement that writes; answers how many rows it changed.
    async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64, StoreError>;

    /// Opens a transaction for statements that depend on what earlier ones read. It writes (on
    /// SQLite it holds the writer until it ends), so keep it short; dropped without
    /// [`Tx::commit`], it rolls back.
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError>;

    /// Runs the statements in order in one transaction: all of them or none.
    async fn atomically(&self, statements: Vec<Statement>) -> Result<Vec<Done>, StoreError> {
        let mut tx = self.begin().await?;
        let mut done = Vec::with_capacity(statements.len());
        for s in statements {
            done.push(tx.run(&s.sql, s.params).await?);
        }
        tx.commit().await?;
        Ok(done)
    }

    /// The first row a statement answers, if any.
    async fn query_opt(&self, sql: &str, params: Vec<Value>) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }
}

/// An open transaction ([`Db::begin`]).
#[async_trait]
pub trait Tx: Send {
    fn dialect(&self) -> Dialect;

    /// Runs a statement: the rows it answers, or how many it changed.
    async fn run(&mut self, sql: &str, params: Vec<Value>) -> Result<Done, StoreError>;

    async fn commit(self: Box<Self>) -> Result<(), StoreError>;

    async fn query(&mut self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>, StoreError> {
        Ok(self.run(sql, params).await?.rows)
    }

    async fn query_opt(&mut self, sql: &str, params: Vec<Value>) -> Result<Option<Row>, StoreError> {
        Ok(self.run(sql, params).await?.rows.into_iter().next())
    }

    async fn execute(&mut self, sql: &str, params: Vec<Value>) -> Result<u64, StoreError> {
        Ok(self.run(sql, params).await?.changed)
    }
}

/// PostgreSQL's `$N` placeholders as SQLite's `?N`, outside quoted text.
pub fn sqlite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c == '$' && !quoted && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_sqlites_outside_quoted_text() {
        assert_eq!(
            sqlite_placeholders("SELECT a FROM t WHERE b = $1 AND c = '$2' AND d IN ($2, $10)"),
            "SELECT a FROM t WHERE b = ?1 AND c = '$2' AND d IN (?2, ?10)"
        );
    }

    #[test]
    fn columns_read_as_their_types_and_refuse_others() {
        let u = Uuid::now_v7();
        let row = Row(vec![Value::Int(3), Value::Bytes(u.as_bytes().to_vec()), Value::Null, Value::Text("x".into())]);
        assert_eq!(row.get::<i64>(0).unwrap(), 3);
        assert_eq!(row.get::<Uuid>(1).unwrap(), u);
        assert_eq!(row.get::<Option<String>>(2).unwrap(), None);
        assert_eq!(row.get::<Option<String>>(3).unwrap(), Some("x".into()));
        assert!(row.get::<String>(2).is_err(), "NULL is not text");
        assert!(row.get::<i64>(3).is_err());
    }
}
