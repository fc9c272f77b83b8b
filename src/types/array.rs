//! Postgres one-dimensional arrays in their text form (`{a,"b c",NULL}`), as
//! litewire stores them (catalog arrays, JSON paths), read and written.

/// The elements of a one-dimensional array in its text form, `{a,"b c"}`.
pub fn elements(text: &str) -> Vec<String> {
    let inner = text.trim().trim_start_matches('{').trim_end_matches('}');
    let mut elements = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut escaped, mut any) = (false, false, false);
    for c in inner.chars() {
        match c {
            _ if escaped => {
                current.push(c);
                escaped = false;
            }
            '\\' if quoted => escaped = true,
            '"' => {
                quoted = !quoted;
                any = true;
            }
            ',' if !quoted => {
                elements.push(std::mem::take(&mut current));
                any = false;
            }
            _ => {
                current.push(c);
                any = true;
            }
        }
    }
    if any || !elements.is_empty() {
        elements.push(current);
    }
    elements
}

/// JSON values as an array's text form, quoting elements that need it.
pub fn text(elements: &[serde_json::Value]) -> String {
    let items: Vec<String> = elements
        .iter()
        .map(|v| match v {
            serde_json::Value::Null => "NULL".to_string(),
            serde_json::Value::String(s) => {
                let plain = !s.is_empty()
                    && !s.eq_ignore_ascii_case("null")
                    && !s.contains(|c: char| "{},\"\\ ".contains(c));
                if plain {
                    s.clone()
                } else {
                    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
                }
            }
            other => other.to_string(),
        })
        .collect();
    format!("{{{}}}", items.join(","))
}
