/-!
# Ordering of the public note index

A small formal model of how the published index page orders notes: pinned notes
come first, and otherwise newer notes come before older ones. Drafts and unlisted
notes never appear.
-/

namespace Notes

/-- Who is allowed to see a note on the public site. -/
inductive Visibility where
  | draft
  | unlisted
  | published
  deriving Repr, DecidableEq

/-- The metadata the index page sorts and filters on. -/
structure NoteMeta where
  slug : String
  pinned : Bool
  created : Nat
  visibility : Visibility
  deriving Repr

/-- Human-readable names, used in the admin screen. -/
instance instToStringVisibility : ToString Visibility where
  toString
    | .draft => "draft"
    | .unlisted => "unlisted"
    | .published => "published"

/-- A harmless placeholder note: an unpinned draft created at time zero. -/
instance instInhabitedNoteMeta : Inhabited NoteMeta :=
  ⟨{ slug := "untitled", pinned := false, created := 0, visibility := .draft }⟩

/-- True exactly for notes that may be shown to anonymous readers. -/
def Visibility.isPublic : Visibility → Bool
  | .published => true
  | _ => false

/-- Should `a` be listed above `b`? Pinned beats unpinned; otherwise the newer one wins. -/
def listedBefore (a b : NoteMeta) : Bool :=
  if a.pinned != b.pinned then a.pinned else decide (b.created ≤ a.created)

/-- Put one note into an already ordered list at the first place where it belongs. -/
def insertOrdered (n : NoteMeta) : List NoteMeta → List NoteMeta
  | [] => [n]
  | m :: rest => if listedBefore n m then n :: m :: rest else m :: insertOrdered n rest

/-- Insertion sort by `listedBefore`. -/
def sortForIndex : List NoteMeta → List NoteMeta
  | [] => []
  | n :: rest => insertOrdered n (sortForIndex rest)

/-- The notes the public index shows, already in display order. -/
def publicIndex (notes : List NoteMeta) : List NoteMeta :=
  sortForIndex (notes.filter (fun n => n.visibility.isPublic))

/-- Drafts are never public. -/
theorem draft_not_public : Visibility.draft.isPublic = false := rfl

/-- Inserting a note makes the list exactly one element longer. -/
theorem insertOrdered_length (n : NoteMeta) (xs : List NoteMeta) :
    (insertOrdered n xs).length = xs.length + 1 := by
  induction xs with
  | nil => rfl
  | cons m rest ih =>
    simp only [insertOrdered]
    split <;> simp [ih]

/-- Sorting neither drops nor duplicates notes (as far as counting goes). -/
theorem sortForIndex_length (xs : List NoteMeta) :
    (sortForIndex xs).length = xs.length := by
  induction xs with
  | nil => rfl
  | cons n rest ih => simp [sortForIndex, insertOrdered_length, ih]

end Notes
