using System;
using System.Collections.Generic;
using System.Linq;

namespace Notes.Reminders
{
    /// <summary>How urgently a reminder should be surfaced.</summary>
    public enum Priority
    {
        Low,
        Normal,
        High,
    }

    /// <summary>A note the user asked to be reminded about at a given moment.</summary>
    public sealed record Reminder(string NoteSlug, DateTime DueAt, Priority Priority);

    /// <summary>
    /// Keeps track of scheduled reminders and tells the UI which ones are due.
    /// </summary>
    public class ReminderService
    {
        private readonly List<Reminder> _pending = new();
        private readonly Func<DateTime> _clock;

        /// <summary>Creates the service; tests can pass a fake clock.</summary>
        public ReminderService(Func<DateTime>? clock = null)
        {
            _clock = clock ?? (() => DateTime.UtcNow);
        }

        /// <summary>Number of reminders that have not fired yet.</summary>
        public int PendingCount => _pending.Count;

        /// <summary>When true, low-priority reminders are never returned as due.</summary>
        public bool QuietMode { get; set; }

        /// <summary>
        /// Book a reminder for a note. Scheduling the same note again moves the existing
        /// reminder instead of adding a second one.
        /// </summary>
        public void Schedule(string noteSlug, DateTime dueAt, Priority priority = Priority.Normal)
        {
            _pending.RemoveAll(r => r.NoteSlug == noteSlug);
            _pending.Add(new Reminder(noteSlug, dueAt, priority));
        }

        /// <summary>Drop the reminder attached to a note, if there is one.</summary>
        public bool Cancel(string noteSlug) => _pending.RemoveAll(r => r.NoteSlug == noteSlug) > 0;

        /// <summary>
        /// Take every reminder whose time has come out of the queue, most urgent first.
        /// Suppressed low-priority reminders stay queued until quiet mode is switched off.
        /// </summary>
        public IReadOnlyList<Reminder> CollectDue()
        {
            var now = _clock();
            var due = _pending
                .Where(r => r.DueAt <= now)
                .Where(r => !(QuietMode && r.Priority == Priority.Low))
                .OrderByDescending(r => r.Priority)
                .ThenBy(r => r.DueAt)
                .ToList();
            foreach (var reminder in due)
            {
                _pending.Remove(reminder);
            }
            return due;
        }
    }
}
