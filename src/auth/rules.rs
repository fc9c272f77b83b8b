//! Access rules for the realtime doors, from the config file: which channel
//! patterns a role may listen, notify and join presence on, which tables it
//! may read, and the row filter (SQL over the row with `auth.<claim>`) that
//! limits what it sees of a table. Rules for role `*` apply to every role.
//! Without a JWT key configured the doors are open and rules are not used.

use crate::config::RuleConfig;

/// What a role may do with a table's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadAccess {
    Denied,
    All,
    /// Only rows where this predicate (with `auth.*` claims) holds.
    Where(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelAction {
    Listen,
    Notify,
    Presence,
}

#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// `None`: open (no authentication configured).
    rules: Option<Vec<RuleConfig>>,
}

/// `*` matches any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.starts_with(head)
                && (0..=text.len() - head.len()).any(|i| {
                    let rest = &text[head.len() + i..];
                    text.is_char_boundary(head.len() + i) && glob(tail, rest)
                })
        }
    }
}

impl Rules {
    /// Everything allowed: the doors have no authentication.
    pub fn open() -> Rules {
        Rules { rules: None }
    }

    pub fn enforced(rules: Vec<RuleConfig>) -> Rules {
        Rules { rules: Some(rules) }
    }

    fn for_role<'a>(&'a self, role: &'a str) -> impl Iterator<Item = &'a RuleConfig> + 'a {
        self.rules
            .iter()
            .flatten()
            .filter(move |r| r.role == "*" || r.role == role)
    }

    pub fn allows(&self, role: &str, action: ChannelAction, channel: &str) -> bool {
        if self.rules.is_none() {
            return true;
        }
        self.for_role(role).any(|r| {
            let patterns = match action {
                ChannelAction::Listen => &r.listen,
                ChannelAction::Notify => &r.notify,
                ChannelAction::Presence => &r.presence,
            };
            patterns.iter().any(|p| glob(p, channel))
        })
    }

    /// A rule that grants the table without a filter wins; otherwise the
    /// filters of the granting rules are OR-ed.
    pub fn read(&self, role: &str, table: &str) -> ReadAccess {
        if self.rules.is_none() {
            return ReadAccess::All;
        }
        let mut filters = Vec::new();
        for rule in self.for_role(role) {
            if !rule
                .read
                .iter()
                .any(|t| t == "*" || t.eq_ignore_ascii_case(table))
            {
                continue;
            }
            match rule.filters.get(table) {
                None => return ReadAccess::All,
                Some(filter) => filters.push(format!("({filter})")),
            }
        }
        if filters.is_empty() {
            ReadAccess::Denied
        } else {
            ReadAccess::Where(filters.join(" OR "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_patterns_and_filters() {
        let rules = Rules::enforced(vec![
            RuleConfig {
                role: "user".into(),
                listen: vec!["room:*".into()],
                read: vec!["orders".into()],
                filters: [("orders".to_string(), "owner_id = auth.sub".to_string())].into(),
                ..Default::default()
            },
            RuleConfig {
                role: "*".into(),
                listen: vec!["public".into()],
                ..Default::default()
            },
        ]);
        assert!(rules.allows("user", ChannelAction::Listen, "room:1"));
        assert!(rules.allows("anon", ChannelAction::Listen, "public"));
        assert!(!rules.allows("anon", ChannelAction::Listen, "room:1"));
        assert!(!rules.allows("user", ChannelAction::Notify, "room:1"));
        assert_eq!(
            rules.read("user", "orders"),
            ReadAccess::Where("(owner_id = auth.sub)".into())
        );
        assert_eq!(rules.read("anon", "orders"), ReadAccess::Denied);
        assert_eq!(Rules::open().read("anon", "orders"), ReadAccess::All);
        assert!(glob("a*c*", "abxcyy") && !glob("a*c", "abxcyy"));
    }
}
