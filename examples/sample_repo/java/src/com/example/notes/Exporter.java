package com.example.notes;

import java.util.List;

/**
 * Something that can write a collection of notes out in a particular file format.
 */
public interface Exporter {

    /** A single note as the exporters see it. */
    record Entry(String title, String body, List<String> tags) {}

    /** The file extension (without dot) of the produced document. */
    String extension();

    /**
     * Serialize the given entries into one document.
     *
     * @param entries notes in the order they should appear
     * @return the complete file contents
     */
    String export(List<Entry> entries);
}
