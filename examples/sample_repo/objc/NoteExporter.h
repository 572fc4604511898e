// Exports a note as a plain-text file for sharing from the macOS app.
#import <Foundation/Foundation.h>

@interface NoteExporter : NSObject

@property (nonatomic, copy) NSString *title;
@property (nonatomic, copy) NSString *body;
@property (nonatomic, assign) NSUInteger wrapColumn;

- (instancetype)initWithTitle:(NSString *)title body:(NSString *)body;
- (NSString *)plainText;
- (BOOL)writeToDirectory:(NSURL *)directory error:(NSError **)error;

@end
