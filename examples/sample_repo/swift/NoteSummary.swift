import Foundation

/// Anything that can describe itself in one short line for a notification banner.
protocol Summarizable {
    var headline: String { get }
    var detail: String { get }
}

extension Summarizable {
    /// Joins the headline and detail, truncating the detail so the banner fits in
    /// `width` characters.
    func banner(width: Int = 60) -> String {
        let room = max(0, width - headline.count - 3)
        let shortDetail = detail.count > room ? String(detail.prefix(room)) + "…" : detail
        return shortDetail.isEmpty ? headline : "\(headline) — \(shortDetail)"
    }
}

/// A read-only view of a note as the iOS widget shows it.
struct NoteSummary: Summarizable {
    let title: String
    let body: String
    let tags: [String]
    let modified: Date

    var headline: String { title }

    /// The first non-empty body line that is not a Markdown heading.
    var detail: String {
        let lines = body.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let first = lines.first { !$0.isEmpty && !$0.hasPrefix("#") } ?? ""
        return first
    }

    /// Whether the note was edited within the last `days` days.
    func isRecent(days: Int, now: Date = Date()) -> Bool {
        now.timeIntervalSince(modified) < Double(days) * 86_400
    }
}

/// Orders summaries for the widget: newest first, pinned tag on top.
func arrangeForWidget(_ notes: [NoteSummary], pinnedTag: String = "pinned") -> [NoteSummary] {
    notes.sorted { lhs, rhs in
        let lp = lhs.tags.contains(pinnedTag), rp = rhs.tags.contains(pinnedTag)
        return lp != rp ? lp : lhs.modified > rhs.modified
    }
}
