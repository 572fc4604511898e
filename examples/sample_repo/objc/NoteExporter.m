#import "NoteExporter.h"

@implementation NoteExporter

// Designated initializer; lines are wrapped at 72 columns unless changed later.
- (instancetype)initWithTitle:(NSString *)title body:(NSString *)body {
    self = [super init];
    if (self) {
        _title = [title copy];
        _body = [body copy];
        _wrapColumn = 72;
    }
    return self;
}

// Re-flows a paragraph so that no line is longer than the wrap column, breaking
// only between words.
- (NSString *)wrapParagraph:(NSString *)paragraph {
    NSMutableString *out = [NSMutableString string];
    NSUInteger lineLength = 0;
    NSArray<NSString *> *words = [paragraph componentsSeparatedByCharactersInSet:
                                  [NSCharacterSet whitespaceAndNewlineCharacterSet]];
    for (NSString *word in words) {
        if (word.length == 0) {
            continue;
        }
        if (lineLength > 0 && lineLength + 1 + word.length > self.wrapColumn) {
            [out appendString:@"\n"];
            lineLength = 0;
        } else if (lineLength > 0) {
            [out appendString:@" "];
            lineLength += 1;
        }
        [out appendString:word];
        lineLength += word.length;
    }
    return out;
}

// The title underlined with '=' followed by the wrapped body paragraphs.
- (NSString *)plainText {
    NSMutableArray<NSString *> *parts = [NSMutableArray array];
    [parts addObject:self.title];
    [parts addObject:[@"" stringByPaddingToLength:self.title.length withString:@"=" startingAtIndex:0]];
    for (NSString *paragraph in [self.body componentsSeparatedByString:@"\n\n"]) {
        [parts addObject:@""];
        [parts addObject:[self wrapParagraph:paragraph]];
    }
    return [parts componentsJoinedByString:@"\n"];
}

// Saves the plain text as "<title>.txt" inside the given folder.
- (BOOL)writeToDirectory:(NSURL *)directory error:(NSError **)error {
    NSString *name = [[self.title stringByReplacingOccurrencesOfString:@"/" withString:@"-"]
                      stringByAppendingPathExtension:@"txt"];
    NSURL *target = [directory URLByAppendingPathComponent:name];
    return [[self plainText] writeToURL:target atomically:YES encoding:NSUTF8StringEncoding error:error];
}

@end
