//! [`ConstraintMap`]: a scope's constraints by argument name, in name order.
//!
//! A sorted vector rather than a `BTreeMap`: a scope holds a handful of constraints and every
//! verified chain in a runtime's cache holds its scopes, so the map's size matters. A B-tree
//! allocates a whole node (room for eleven entries, about 1.5 KiB here) for one constraint;
//! this allocates exactly the entries. Lookups are binary searches.

use std::collections::BTreeMap;
use std::fmt;

use super::Constraint;

/// Constraints by argument name, iterated in name order.
#[derive(Clone, Default, PartialEq)]
pub struct ConstraintMap(Vec<(String, Constraint)>);

impl ConstraintMap {
    /// An empty map (no allocation).
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// How many arguments are constrained.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no argument is constrained.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn find(&self, arg: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(name, _)| name.as_str().cmp(arg))
    }

    /// The constraint on `arg`.
    pub fn get(&self, arg: &str) -> Option<&Constraint> {
        self.find(arg).ok().and_then(|i| self.0.get(i)).map(|(_, c)| c)
    }

    /// Whether `arg` is constrained.
    pub fn contains_key(&self, arg: &str) -> bool {
        self.find(arg).is_ok()
    }

    /// Sets the constraint on `arg`, returning the one it replaces.
    pub fn insert(&mut self, arg: String, constraint: Constraint) -> Option<Constraint> {
        match self.find(&arg) {
            Ok(i) => self.0.get_mut(i).map(|(_, c)| std::mem::replace(c, constraint)),
            Err(i) => {
                self.0.insert(i, (arg, constraint));
                None
            }
        }
    }

    /// `(argument, constraint)` in name order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&String, &Constraint)> + DoubleEndedIterator {
        self.0.iter().map(|(name, c)| (name, c))
    }

    /// The argument names, in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &String> + DoubleEndedIterator {
        self.0.iter().map(|(name, _)| name)
    }

    /// The constraints, in name order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &Constraint> + DoubleEndedIterator {
        self.0.iter().map(|(_, c)| c)
    }
}

impl fmt::Debug for ConstraintMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl From<BTreeMap<String, Constraint>> for ConstraintMap {
    fn from(map: BTreeMap<String, Constraint>) -> Self {
        let mut entries = Vec::with_capacity(map.len());
        entries.extend(map);
        Self(entries)
    }
}

/// Collects like a map: for a repeated name the last constraint wins.
impl FromIterator<(String, Constraint)> for ConstraintMap {
    fn from_iter<I: IntoIterator<Item = (String, Constraint)>>(iter: I) -> Self {
        iter.into_iter().collect::<BTreeMap<_, _>>().into()
    }
}

impl<'a> IntoIterator for &'a ConstraintMap {
    type Item = (&'a String, &'a Constraint);
    type IntoIter =
        std::iter::Map<std::slice::Iter<'a, (String, Constraint)>, fn(&'a (String, Constraint)) -> Self::Item>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(name, c)| (name, c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn max(n: i64) -> Constraint {
        Constraint { max: Some(n.into()), ..Constraint::default() }
    }

    #[test]
    fn behaves_as_a_sorted_map() {
        let mut m = ConstraintMap::new();
        assert!(m.is_empty() && m.get("a").is_none());
        assert_eq!(m.insert("b".into(), max(2)), None);
        assert_eq!(m.insert("a".into(), max(1)), None);
        assert_eq!(m.insert("c".into(), max(3)), None);
        assert_eq!(m.insert("b".into(), max(20)), Some(max(2)));
        assert_eq!(m.keys().map(String::as_str).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(m.get("b"), Some(&max(20)));
        assert!(m.contains_key("c") && !m.contains_key("d"));
        assert_eq!(m.len(), 3);
        let collected: ConstraintMap =
            [("z".into(), max(1)), ("y".into(), max(2)), ("z".into(), max(3))].into_iter().collect();
        assert_eq!(
            collected.iter().map(|(k, c)| (k.as_str(), c.clone())).collect::<Vec<_>>(),
            [("y", max(2)), ("z", max(3))]
        );
        assert_eq!(format!("{collected:?}"), format!("{:?}", collected.iter().collect::<BTreeMap<_, _>>()));
    }
}
