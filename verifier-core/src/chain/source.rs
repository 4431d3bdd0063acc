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

/// Whether [`Auditor::audit_source`] examines the batches after the main chain is
/// settled, each read once (natively, with the `parallel` feature), or with the other
/// kinds, the main chain's read again at the end (the wasm module: its snapshot is in
/// memory, so a second read is a copy, and the one-read stage's code would take 5 KB of
/// the module's 600 KiB). The audits are the same (test `batches_read_once`).
const BATCHES_AFTER_THE_CHAIN: bool = cfg!(feature = "parallel");

/// Objects examined between two progress reports (with the `parallel` feature, the
/// threads work on one such chunk at a time, so it is large enough that none waits long
/// for the slowest; without it, small enough for a smooth progress bar).
pub(super) const CHUNK: usize = if cfg!(feature = "parallel") { 1024 } else { 16 };

impl Auditor {
    /// Audits every object of `source`: lists each kind, [`Auditor::examine`]s every
    /// object (on all cores of the current rayon pool with the `parallel` feature),
    /// then [`AuditBuilder::finish`]. With the `parallel` feature the batches are
    /// examined after the main chain is settled, each read once, and the transaction
    /// ids of the main chain's batches kept as they are checked: the same audit, without
    /// reading those batches a second time. `progress` is called on the calling thread
    /// with the number of objects examined so far and the total listed.
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
        let mut batches = Listing::default();
        // Kind by kind, each listing dropped once its objects are examined; the batches
        // wait for the main chain.
        for (kind, listing) in &mut listed {
            if *kind == ObjectKind::Batch && BATCHES_AFTER_THE_CHAIN {
                batches = core::mem::take(listing);
                continue;
            }
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
        drop(listed);
        for (kind, key, size) in source.set_aside() {
            builder.add(kind, Examined::oversized(kind, &key, size));
        }
        if !BATCHES_AFTER_THE_CHAIN {
            return Ok(builder.finish(source));
        }
        Ok(builder.finish_with(|mut stage| {
            // The main chain's blocks from height 1, in the order of their batch roots.
            let main_chain = stage.main_chain;
            let root = |i: &usize| main_chain.get(i + 1).map(|b| b.batch_root);
            let by_root = sorted_order(main_chain.len().saturating_sub(1), &|a, b| {
                root(&a).cmp(&root(&b))
            });
            // The positions in `by_root` of the blocks that name the batch `key`.
            let naming = |key: &Hash32| {
                let from = by_root.partition_point(|i| root(i) < Some(*key));
                let rest = by_root.get(from..).unwrap_or_default();
                let to = rest.partition_point(|i| root(i) == Some(*key));
                rest.get(..to).unwrap_or_default()
            };
            let mut found = MainBatchIds::new(main_chain.len());
            let Listing { keys, other } = batches;
            let mut examine = |chunk: &[&str]| {
                let examined = par_map(chunk, &|name: &&str, buf: &mut Vec<u8>| {
                    // Only a main-chain block's batch gives its ids: others are checked
                    // in O(log n) memory, whatever they hold (issue #13).
                    let main = Hash32::from_hex(name).is_ok_and(|key| !naming(&key).is_empty());
                    let mut ids = None;
                    let examined =
                        read_and_examine(source, ObjectKind::Batch, name, buf, |bytes| {
                            if main {
                                let (examined, kept) = self.examine_batch_keeping_ids(name, bytes);
                                ids = kept;
                                examined
                            } else {
                                self.examine(ObjectKind::Batch, name, bytes)
                            }
                        });
                    (examined, ids)
                });
                for (examined, ids) in examined {
                    if let (Examined::Batch { key }, Some(ids)) = (&examined, ids) {
                        for i in naming(key) {
                            found.push(*i as u64 + 1, &ids);
                        }
                    }
                    stage.add(examined);
                }
                done += chunk.len();
                progress(done, total);
            };
            for chunk in keys.chunks(CHUNK) {
                let names: Vec<HexName> = chunk.iter().map(HexName::new).collect();
                examine(&names.iter().map(HexName::as_str).collect::<Vec<_>>());
            }
            for chunk in other.chunks(CHUNK) {
                examine(&chunk.iter().map(String::as_str).collect::<Vec<_>>());
            }
            drop(by_root);
            stage.with_main_batches(found)
        }))
    }

    /// [`Auditor::examine`] of a main-chain block's batch, that also gives back its
    /// transaction ids when it is valid (the audit counts them as final).
    fn examine_batch_keeping_ids(
        &self,
        name: &str,
        bytes: &[u8],
    ) -> (Examined, Option<Vec<Hash32>>) {
        let kind = ObjectKind::Batch;
        if let (Ok(named), None) = (
            Hash32::from_hex(name),
            kind.oversize_reason(bytes.len() as u64),
        ) {
            if let Ok(ids) = Batch::tx_ids_of(bytes, &BatchBudget::DEFAULT) {
                if crate::merkle::root(&ids) == named {
                    return (Examined::Batch { key: named }, Some(ids));
                }
            }
        }
        // Invalid: the verdict and its reason exactly as `examine` gives them.
        (self.examine(kind, name, bytes), None)
    }

    /// Examines the objects of `chunk` (on all cores of the current rayon pool with
    /// the `parallel` feature), in order; one that cannot be read is invalid.
    pub(super) fn examine_chunk<S: AuditSource>(
        &self,
        source: &S,
        chunk: &[(ObjectKind, &str)],
    ) -> Vec<Examined> {
        par_map(chunk, &|&(kind, name), buf| {
            read_and_examine(source, kind, name, buf, |bytes| {
                self.examine(kind, name, bytes)
            })
        })
    }
}

/// Reads the object of `kind` named `name` from `source` (into `buf`) and gives
/// `examine`'s verdict on its bytes; an object that cannot be read is invalid.
fn read_and_examine<S: AuditSource>(
    source: &S,
    kind: ObjectKind,
    name: &str,
    buf: &mut Vec<u8>,
    mut examine: impl FnMut(&[u8]) -> Examined,
) -> Examined {
    let mut examined = None;
    let read = source.with_object(kind, name, buf, &mut |bytes| {
        examined = Some(examine(bytes));
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

/// `f` of every item, in order, each given a buffer for the object it reads: on all
/// cores of the current rayon pool with the `parallel` feature (each thread's buffer
/// grown once to the largest object, then reused).
#[cfg(feature = "parallel")]
fn par_map<I: Sync, T: Send>(items: &[I], f: &(impl Fn(&I, &mut Vec<u8>) -> T + Sync)) -> Vec<T> {
    use rayon::prelude::*;
    thread_local! {
        static BUFFER: core::cell::RefCell<Vec<u8>> = const { core::cell::RefCell::new(Vec::new()) };
    }
    items
        .par_iter()
        .map(|item| BUFFER.with_borrow_mut(|buf| f(item, buf)))
        .collect()
}

/// `f` of every item, in order, with one buffer.
#[cfg(not(feature = "parallel"))]
fn par_map<I: Sync, T: Send>(items: &[I], f: &(impl Fn(&I, &mut Vec<u8>) -> T + Sync)) -> Vec<T> {
    let mut buf = Vec::new();
    items.iter().map(|item| f(item, &mut buf)).collect()
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
