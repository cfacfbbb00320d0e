/* cffi declarations: playback.h */
enum play_type { PLAY_PROMPT = 1, PLAY_TONE = 2, PLAY_SILENCE = 3, PLAY_DIGITS = 4 };
#define PLAY_MAX_ITEMS 32
#define PLAY_MAX_DIGITS 32
typedef struct { int32_t type; int32_t id; int32_t ms; char digits[32]; } play_item_t;
