package notes.tags

/** A tag attached to notes, with how many notes carry it. */
data class TagCount(val name: String, val count: Int)

/**
 * Normalises a user-typed tag: trims it, lowercases it, drops a leading '#' and
 * squeezes inner whitespace into single hyphens.
 */
fun String.toTagName(): String =
    trim().removePrefix("#").lowercase().replace(Regex("\\s+"), "-")

/** Counts tags over all notes and returns them most-used first. */
fun tally(tagLists: List<List<String>>): List<TagCount> =
    tagLists.flatten()
        .map { it.toTagName() }
        .filter { it.isNotEmpty() }
        .groupingBy { it }
        .eachCount()
        .map { (name, count) -> TagCount(name, count) }
        .sortedWith(compareByDescending<TagCount> { it.count }.thenBy { it.name })

/**
 * Picks a font size for each tag in a tag cloud, scaling linearly between
 * [minSize] and [maxSize] according to its share of the most popular tag.
 */
fun List<TagCount>.cloudSizes(minSize: Int = 12, maxSize: Int = 32): Map<String, Int> {
    val top = maxOfOrNull { it.count } ?: return emptyMap()
    return associate { tag ->
        tag.name to minSize + (maxSize - minSize) * tag.count / top
    }
}
