# frozen_string_literal: true

require "time"

# Builds the Atom feed that lists recently published notes.
module NotesFeed
  # One entry in the feed.
  Item = Struct.new(:title, :slug, :summary, :updated_at, keyword_init: true)

  # Collects items and serialises them as an Atom XML document.
  class AtomBuilder
    attr_reader :items

    # site_url is the public root, e.g. "https://notes.example.com".
    def initialize(site_title, site_url, limit: 20)
      @site_title = site_title
      @site_url = site_url.chomp("/")
      @limit = limit
      @items = []
    end

    # Queue a note for the feed; returns self so calls can be chained.
    def add(title:, slug:, summary:, updated_at:)
      @items << Item.new(title: title, slug: slug, summary: summary, updated_at: updated_at)
      self
    end

    # Replace the characters XML treats specially with their entity references.
    def self.escape(text)
      text.to_s.gsub("&", "&amp;").gsub("<", "&lt;").gsub(">", "&gt;").gsub('"', "&quot;")
    end

    # Render the newest `limit` items, most recent first, as a complete Atom document.
    def to_xml
      newest = @items.sort_by(&:updated_at).reverse.first(@limit)
      updated = (newest.first&.updated_at || Time.at(0)).utc.iso8601
      entries = newest.map { |item| entry_xml(item) }.join("\n")
      <<~XML
        <?xml version="1.0" encoding="utf-8"?>
        <feed xmlns="http://www.w3.org/2005/Atom">
          <title>#{self.class.escape(@site_title)}</title>
          <link href="#{@site_url}/"/>
          <updated>#{updated}</updated>
        #{entries}
        </feed>
      XML
    end

    private

    def entry_xml(item)
      url = "#{@site_url}/#{item.slug}.html"
      "  <entry><title>#{self.class.escape(item.title)}</title><link href=\"#{url}\"/>" \
        "<id>#{url}</id><updated>#{item.updated_at.utc.iso8601}</updated>" \
        "<summary>#{self.class.escape(item.summary)}</summary></entry>"
    end
  end
end
