package com.example.notes;

import java.util.List;
import java.util.stream.Collectors;

/**
 * Writes notes as comma-separated values for spreadsheet tools: one row per note,
 * with tags joined by semicolons in the last column.
 */
public class CsvExporter implements Exporter {

    private final char separator;

    /** Uses a comma between columns. */
    public CsvExporter() {
        this(',');
    }

    /** Uses the given character between columns (e.g. ';' for some European locales). */
    public CsvExporter(char separator) {
        this.separator = separator;
    }

    @Override
    public String extension() {
        return "csv";
    }

    /**
     * Wrap a field in double quotes when it contains the separator, a quote or a line
     * break, doubling any quotes inside, as RFC 4180 requires.
     */
    static String quote(String field, char separator) {
        boolean needsQuotes = field.indexOf(separator) >= 0
                || field.indexOf('"') >= 0
                || field.indexOf('\n') >= 0;
        if (!needsQuotes) {
            return field;
        }
        return '"' + field.replace("\"", "\"\"") + '"';
    }

    /** Build one CSV line for a note. */
    private String row(Entry entry) {
        String tags = String.join(";", entry.tags());
        return quote(entry.title(), separator) + separator
                + quote(entry.body(), separator) + separator
                + quote(tags, separator);
    }

    @Override
    public String export(List<Entry> entries) {
        String header = "title" + separator + "body" + separator + "tags";
        String body = entries.stream().map(this::row).collect(Collectors.joining("\n"));
        return entries.isEmpty() ? header + "\n" : header + "\n" + body + "\n";
    }
}
