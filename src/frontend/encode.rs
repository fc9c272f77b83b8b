//! RowDescription and DataRow encoding, in text or binary per column.

use bytes::{BufMut, BytesMut};
use pgwire::messages::data::{DataRow, FieldDescription, RowDescription};
use rusqlite::types::{Value, ValueRef};

use super::session::Described;
use crate::error::{Error, Result};
use crate::types::{binary, output};

/// Postgres format codes: one for all columns, one per column, or none (text).
pub fn format_for(formats: &[i16], i: usize) -> i16 {
    match formats {
        [] => 0,
        [one] => *one,
        many => many.get(i).copied().unwrap_or(0),
    }
}

pub fn row_description(columns: &[Described], formats: &[i16]) -> RowDescription {
    RowDescription::new(
        columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                FieldDescription::new(
                    c.name.clone(),
                    0,
                    0,
                    c.oid,
                    c.ty.size(),
                    c.typmod,
                    format_for(formats, i),
                )
            })
            .collect(),
    )
}

pub fn data_row(columns: &[Described], row: &[Value], formats: &[i16]) -> Result<DataRow> {
    let mut data = BytesMut::with_capacity(row.len() * 16);
    for (i, (value, column)) in row.iter().zip(columns).enumerate() {
        let value = ValueRef::from(value);
        if value == ValueRef::Null {
            data.put_i32(-1);
            continue;
        }
        let len_at = data.len();
        data.put_i32(0);
        if format_for(formats, i) == 1 {
            binary::write_binary(column.ty, value, &mut data)?;
        } else {
            output::write_text(column.ty, value, &mut data);
        }
        let len = (data.len() - len_at - 4) as i32;
        data[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
    }
    let count = i16::try_from(row.len()).map_err(|_| Error::internal("too many columns"))?;
    Ok(DataRow::new(data, count))
}
