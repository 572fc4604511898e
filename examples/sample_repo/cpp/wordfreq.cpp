// Word-frequency statistics for the "related notes" sidebar.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace notes {
namespace stats {

// Counts how often each word appears across the text fed into it.
class WordFrequency {
public:
    // Split text on anything that is not a letter or digit and count the lowercase
    // words; words shorter than min_length_ (such as "a", "of") are ignored.
    void add_text(const std::string& text) {
        std::string word;
        for (char raw : text) {
            unsigned char ch = static_cast<unsigned char>(raw);
            if (std::isalnum(ch)) {
                word.push_back(static_cast<char>(std::tolower(ch)));
            } else {
                flush(word);
            }
        }
        flush(word);
    }

    // The n most common words, highest count first, ties broken alphabetically.
    std::vector<std::pair<std::string, int>> top(std::size_t n) const {
        std::vector<std::pair<std::string, int>> ranked(counts_.begin(), counts_.end());
        std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
            return a.second != b.second ? a.second > b.second : a.first < b.first;
        });
        if (ranked.size() > n) {
            ranked.resize(n);
        }
        return ranked;
    }

    // Cosine-style overlap between two word distributions, from 0 (nothing shared)
    // to 1 (identical proportions).
    double similarity(const WordFrequency& other) const;

    int count(const std::string& word) const {
        auto it = counts_.find(word);
        return it == counts_.end() ? 0 : it->second;
    }

private:
    void flush(std::string& word) {
        if (word.size() >= min_length_) {
            ++counts_[word];
        }
        word.clear();
    }

    std::map<std::string, int> counts_;
    std::size_t min_length_ = 3;
};

double WordFrequency::similarity(const WordFrequency& other) const {
    double dot = 0, left = 0, right = 0;
    for (const auto& [word, n] : counts_) {
        dot += static_cast<double>(n) * other.count(word);
        left += static_cast<double>(n) * n;
    }
    for (const auto& entry : other.counts_) {
        right += static_cast<double>(entry.second) * entry.second;
    }
    if (left == 0 || right == 0) {
        return 0.0;
    }
    return dot / (std::sqrt(left) * std::sqrt(right));
}

}  // namespace stats
}  // namespace notes
