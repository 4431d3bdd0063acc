//! [`AuditSource`]: where an audit reads its objects from, kind by kind and object by
//! object (an in-memory [`Snapshot`], or a directory read on demand by an I/O crate),
//! and [`Auditor::audit_source`], the one audit loop every face calls.

use super::*;

/// A snapshot the audit lists kind by kind and reads object by object, so that a
/// large one is never held in memory whole.
///
/// The core does no I/O: an adapter (a directory, an object store) implements this;
/// [`Snapshot`] implements it for bytes already in memory. `Sync` so that, with the
/// `parallel` feature, objects are read and examined on several threads.
pub trait AuditSource: ObjectSource + Sync {
    /// Why the source cannot be listed at all (the audit stops with it).
    type Error: Send;

    /// The objects of `kind` (SPEC §2.1): their names, as a [`Listing`].
    ///
    /// # Errors
    /// The source cannot be listed.
    fn names(&self, kind: ObjectKind) -> Result<Listing, Self::Error>;

    /// Passes each name [`AuditSource::names`] lists for `kind` to `each`, in any order,
    /// so that a caller that keeps few of them (a resumed audit keeps the new ones)
    /// never holds the whole listing. By default through `names`; a source that can
    /// stream its listing overrides it.
    ///
    /// # Errors
    /// The source cannot be listed.
    fn each_name(
        &self,
        kind: ObjectKind,
        each: &mut dyn FnMut(ListedName<'_>),
    ) -> Result<(), Self::Error> {
        self.names(kind)?.iter().for_each(each);
        Ok(())
    }

    /// Reads the object of `kind` named `name` (`buf` is the caller's buffer, reused
    /// between calls; the source may grow or replace it) and passes its bytes to `f`.
    ///
    /// # Errors
    /// Why the object cannot be read: the audit reports it as invalid with this reason.
    fn with_object(
        &self,
        kind: ObjectKind,
        name: &str,
        buf: &mut Vec<u8>,
        f: &mut dyn FnMut(&[u8]),
    ) -> Result<(), String>;

    /// Objects the source set aside unread because they are over their kind's limit
    /// ([`ObjectKind::max_len`]): `(kind, key, size)`. They are not in
    /// [`AuditSource::names`]; the audit reports them as invalid.
    fn set_aside(&self) -> Vec<(ObjectKind, Hash32, u64)> {
        Vec::new()
    }
}

/// The names of one kind of object a snapshot holds, 32 bytes each where they are
/// hashes (a `String` took about 100): the names that are 64 lowercase hex digits as
/// hashes, ascending, and any other name as text (the audit reports those as invalid),
/// ascending. Objects are examined, and progress reported, in that order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    /// The names that are hashes (SPEC §2.1), ascending.
    pub keys: Vec<Hash32>,
    /// Every other name, ascending.
    pub other: Vec<String>,
}

impl Listing {
    /// The listing of `names`, in any order.
    pub fn from_names(names: impl IntoIterator<Item = String>) -> Self {
        let mut listing = Self::default();
        for name in names {
            match Hash32::from_lower_hex(name.as_bytes()) {
                Some(key) => listing.keys.push(key),
                None => listing.other.push(name),
            }
        }
        listing.sort();
        listing
    }

    /// Both lists ascending.
    pub fn sort(&mut self) {
        if !self.keys.is_sorted() {
            sort_items(&mut self.keys, &Hash32::cmp);
        }
        if !self.other.is_sorted() {
            sort_items(&mut self.other, &String::cmp);
        }
    }

    /// Every name: the hashes, then the others.
    pub fn iter(&self) -> impl Iterator<Item = ListedName<'_>> {
        let keys = self.keys.iter().map(|key| ListedName::Key(*key));
        keys.chain(self.other.iter().map(|name| ListedName::Other(name)))
    }

    /// How many names.
    pub fn len(&self) -> usize {
        self.keys.len() + self.other.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One name of a listing ([`AuditSource::each_name`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListedName<'a> {
    /// A name that is a hash (64 lowercase hex digits, SPEC §2.1).
    Key(Hash32),
    /// Any other name.
    Other(&'a str),
}

/// A hash as the 64 lowercase hex digits of its file name, without allocating.
pub(super) struct HexName([u8; 64]);

impl HexName {
    pub(super) fn new(key: &Hash32) -> Self {
        let mut out = [0u8; 64];
        // 32 bytes always fit 64 hex digits.
        let _ = hex::encode_to_slice(key.as_bytes(), &mut out);
        Self(out)
    }

    pub(super) fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl AuditSource for Snapshot {
    type Error = core::convert::Infallible;

    fn names(&self, kind: ObjectKind) -> Result<Listing, Self::Error> {
        Ok(Listing {
            keys: self.objects(kind).map(|(key, _)| *key).collect(),
            other: Vec::new(),
        })
    }

    fn with_object(
        &self,
        kind: ObjectKind,
        name: &str,
        _buf: &mut Vec<u8>,
        f: &mut dyn FnMut(&[u8]),
    ) -> Result<(), String> {
        let bytes = Hash32::from_hex(name)
            .ok()
            .and_then(|key| self.get(kind, &key))
            .ok_or_else(|| "not in the snapshot".to_owned())?;
        f(bytes);
        Ok(())
    }

    fn set_aside(&self) -> Vec<(ObjectKind, Hash32, u64)> {
        self.oversized().to_vec()
    }
}

/// Objects examined between two progress reports (with the `parallel` feature, the
/// threads work on one such chunk at a time, so it is large enough that none waits long
/// for the slowest; without it, small enough for a smooth progress bar).
pub(super) const CHUNK: usize = if cfg!(feature = "parallel") { 1024 } else { 16 };

impl Auditor {
    /// Audits every object of `source`: lists each kind, [`Auditor::examine`]s every
    /// object (on all cores of the current rayon pool with the `parallel` feature),
    /// then [`AuditBuilder::finish`]. `progress` is called on the calling thread with
    /// the number of objects examined so far and the total listed.
    ///
    /// # Errors
    /// The source cannot be listed. An object that cannot be read is not an error: it
    /// is an invalid object of the audit.
    pub fn audit_source<S: AuditSource>(
        &self,
        source: &S,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Audit, S::Error> {
        let mut listed = list_kinds(source)?;
        let total = listed.iter().map(|(_, l)| l.len()).sum();
        let mut builder = AuditBuilder::new(self.genesis).with_hash_seed(self.seed);
        let mut done = 0;
        // Kind by kind, each listing dropped once its objects are examined.
        for (kind, listing) in &mut listed {
            let Listing { keys, other } = core::mem::take(listing);
            for chunk in keys.chunks(CHUNK) {
                let names: Vec<HexName> = chunk.iter().map(HexName::new).collect();
                let objects: Vec<(ObjectKind, &str)> =
                    names.iter().map(|n| (*kind, n.as_str())).collect();
                for examined in self.examine_chunk(source, &objects) {
                    builder.add(*kind, examined);
                }
                done += chunk.len();
                progress(done, total);
            }
            drop(keys);
            let objects: Vec<(ObjectKind, &str)> =
                other.iter().map(|n| (*kind, n.as_str())).collect();
            for chunk in objects.chunks(CHUNK) {
                for examined in self.examine_chunk(source, chunk) {
                    builder.add(*kind, examined);
                }
                done += chunk.len();
                progress(done, total);
            }
        }
        for (kind, key, size) in source.set_aside() {
            builder.add(kind, Examined::oversized(kind, &key, size));
        }
        drop(listed);
        Ok(builder.finish(source))
    }

    /// Reads and examines one object of `source`; one that cannot be read is invalid.
    fn examine_from<S: AuditSource>(
        &self,
        source: &S,
        kind: ObjectKind,
        name: &str,
        buf: &mut Vec<u8>,
    ) -> Examined {
        let mut examined = None;
        let read = source.with_object(kind, name, buf, &mut |bytes| {
            examined = Some(self.examine(kind, name, bytes));
        });
        match (read, examined) {
            (Ok(()), Some(e)) => e,
            (Err(reason), _) => Examined::Invalid(InvalidObject {
                kind,
                key: name.to_owned(),
                reason,
            }),
            (Ok(()), None) => Examined::Invalid(InvalidObject {
                kind,
                key: name.to_owned(),
                reason: "the source gave no bytes".to_owned(),
            }),
        }
    }

    #[cfg(feature = "parallel")]
    pub(super) fn examine_chunk<S: AuditSource>(
        &self,
        source: &S,
        chunk: &[(ObjectKind, &str)],
    ) -> Vec<Examined> {
        use rayon::prelude::*;
        thread_local! {
            /// Each audit thread's buffer for the object it reads: grown once to the
            /// largest object, then reused.
            static BUFFER: core::cell::RefCell<Vec<u8>> = const { core::cell::RefCell::new(Vec::new()) };
        }
        chunk
            .par_iter()
            .map(|&(kind, name)| {
                BUFFER.with_borrow_mut(|buf| self.examine_from(source, kind, name, buf))
            })
            .collect()
    }

    #[cfg(not(feature = "parallel"))]
    pub(super) fn examine_chunk<S: AuditSource>(
        &self,
        source: &S,
        chunk: &[(ObjectKind, &str)],
    ) -> Vec<Examined> {
        let mut buf = Vec::new();
        chunk
            .iter()
            .map(|&(kind, name)| self.examine_from(source, kind, name, &mut buf))
            .collect()
    }
}

/// Every kind's names (the four listings in parallel with `parallel`), each ascending.
fn list_kinds<S: AuditSource>(source: &S) -> Result<Vec<(ObjectKind, Listing)>, S::Error> {
    let list = |kind: ObjectKind| {
        source.names(kind).map(|mut listing| {
            listing.sort();
            (kind, listing)
        })
    };
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        ObjectKind::ALL.par_iter().map(|&kind| list(kind)).collect()
    }
    #[cfg(not(feature = "parallel"))]
    ObjectKind::ALL.into_iter().map(list).collect()
}
