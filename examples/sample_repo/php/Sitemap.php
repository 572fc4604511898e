<?php

declare(strict_types=1);

namespace Notes\Publish;

/**
 * Produces sitemap.xml so search engines can discover every published note.
 */
final class Sitemap
{
    /** @var array<string, string> page path => last modification date (Y-m-d) */
    private array $pages = [];

    public function __construct(private string $baseUrl)
    {
        $this->baseUrl = rtrim($baseUrl, '/');
    }

    /**
     * Register a page. A later call for the same path keeps the more recent date.
     */
    public function addPage(string $path, \DateTimeInterface $modified): void
    {
        $date = $modified->format('Y-m-d');
        $key = '/' . ltrim($path, '/');
        if (!isset($this->pages[$key]) || $this->pages[$key] < $date) {
            $this->pages[$key] = $date;
        }
    }

    /**
     * How often crawlers should come back, guessed from the age of the page.
     */
    public static function changeFrequency(\DateTimeInterface $modified, \DateTimeInterface $now): string
    {
        $days = (int) $now->diff($modified)->format('%a');
        if ($days <= 7) {
            return 'daily';
        }
        return $days <= 60 ? 'weekly' : 'monthly';
    }

    /**
     * Serialise all registered pages into the sitemaps.org XML format, sorted by path.
     */
    public function render(?\DateTimeInterface $now = null): string
    {
        $now ??= new \DateTimeImmutable();
        ksort($this->pages);
        $lines = ['<?xml version="1.0" encoding="UTF-8"?>',
                  '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'];
        foreach ($this->pages as $path => $date) {
            $freq = self::changeFrequency(new \DateTimeImmutable($date), $now);
            $loc = htmlspecialchars($this->baseUrl . $path, ENT_XML1);
            $lines[] = "  <url><loc>{$loc}</loc><lastmod>{$date}</lastmod><changefreq>{$freq}</changefreq></url>";
        }
        $lines[] = '</urlset>';
        return implode("\n", $lines) . "\n";
    }
}
