//! Fast paths of the notes app: a Markdown tokenizer and a small render cache.

pub mod cache;
pub mod tokenizer;

use cache::LruCache;
use tokenizer::{Render, Tokenizer};

/// Convert inline Markdown to HTML, remembering recent results so that re-rendering
/// an unchanged paragraph costs a hash lookup instead of a full scan.
pub fn render_cached(cache: &mut LruCache<String, String>, source: &str) -> String {
    if let Some(hit) = cache.get(&source.to_string()) {
        return hit.clone();
    }
    let html: String = Tokenizer::new(source).map(|token| token.render()).collect();
    cache.put(source.to_string(), html.clone());
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_render_is_served_from_cache() {
        let mut cache = LruCache::new(4);
        let first = render_cached(&mut cache, "a **b** `c`");
        assert_eq!(first, "a <strong>b</strong> <code>c</code>");
        assert_eq!(render_cached(&mut cache, "a **b** `c`"), first);
        assert_eq!(cache.len(), 1);
    }
}
