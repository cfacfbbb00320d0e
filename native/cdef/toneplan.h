/* cffi declarations: toneplan.h */
enum tone_id { TONE_NONE = 0, TONE_DIAL = 1, TONE_BUSY = 2, TONE_RINGBACK = 3,
               TONE_CONGESTION = 4, TONE_SIT = 5, TONE_COUNT = 6 };
#define TONE_MAX_STEPS 6
typedef struct { int16_t f1; int16_t f2; int8_t level; uint16_t ms; } tone_step_t;
typedef struct { uint8_t nsteps; uint8_t repeat; tone_step_t step[6]; } tone_def_t;
typedef struct { const char *name; const char *country; tone_def_t tone[6]; uint16_t ring_cadence[4]; } tone_plan_t;
const tone_plan_t *tone_plan_find(const char *name);
int tone_plan_count(void);
const tone_plan_t *tone_plan_at(int i);
const char *tone_name(int tone);
