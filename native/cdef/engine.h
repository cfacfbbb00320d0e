/* cffi declarations: engine.h */
enum line_state { ST_IDLE = 0, ST_RINGING = 1, ST_OFFHOOK = 2, ST_PLAYING = 3, ST_COLLECTING = 4,
                  ST_BRIDGED = 5, ST_DIALING = 6, ST_HUNGUP = 7, ST_OUT_OF_SERVICE = 8 };
enum event_type { EV_RING = 1, EV_RING_TIMEOUT = 2, EV_CALLERID = 3, EV_OFFHOOK = 4, EV_HANGUP = 5,
                  EV_FLASH = 6, EV_DIGIT = 7, EV_COLLECTED = 8, EV_PLAY_DONE = 9, EV_TONE = 10,
                  EV_ALARM = 11, EV_NOALARM = 12, EV_HEARD = 13, EV_DIGITS_SENT = 14,
                  EV_POLARITY = 15, EV_DIALED = 16,
                  EV_CALLED = 17, EV_ANSWERED = 18 };
enum hangup_cause { CAUSE_ONHOOK = 1, CAUSE_LOOP_BREAK = 2, CAUSE_POLARITY = 3, CAUSE_BUSY_TONE = 4,
                    CAUSE_CONGESTION_TONE = 5, CAUSE_CLEARED = 6 };
enum play_end { PLAY_COMPLETE = 0, PLAY_INTERRUPTED = 1, PLAY_STOPPED = 2 };
enum collect_end { COLLECT_MAX = 0, COLLECT_TERMINATOR = 1, COLLECT_TIMEOUT = 2, COLLECT_CANCELLED = 3 };
enum detect_flags { DETECT_DTMF = 1, DETECT_TONES = 2, DETECT_BUSY_HANGUP = 4 };
enum cid_when { CID_AFTER_FIRST_RING = 0, CID_BEFORE_FIRST_RING = 1 };
#define RUN_STOP_ON_EVENT 1
typedef struct { int64_t sample; int32_t chan; int32_t type; int32_t a; int32_t b; int32_t c;
                 char text[40]; char text2[40]; } engine_event_t;
typedef struct { int64_t sample; int32_t chan; int16_t rx[160]; int16_t tx[160]; } tap_frame_t;
typedef struct { int64_t sample; int32_t frames; int32_t nevents; const engine_event_t *events;
                 int32_t ntaps; const tap_frame_t *taps; } engine_batch_t;
typedef struct { int32_t law; const char *plan; int32_t detect; int32_t cid_standard; int32_t cid_when;
                 int32_t ring_timeout_ms; int32_t busy_cycles; int32_t dtmf_twist;
                 int32_t dtmf_reverse_twist; int32_t dtmf_threshold; int32_t dtmf_filter_dialtone;
                 int32_t echocan_taps; } channel_config_t;
typedef struct engine_s engine_t;
engine_t *engine_new(board_t *board);
void engine_free(engine_t *e);
const char *engine_error(const engine_t *e);
const char *engine_strerror(int code);
int engine_channels(const engine_t *e);
int engine_channel_kind(const engine_t *e, int ch);
int engine_state(const engine_t *e, int ch);
int64_t engine_now(const engine_t *e);
void engine_default_config(int kind, channel_config_t *cfg);
int engine_configure(engine_t *e, int ch, const channel_config_t *cfg);
int engine_prompt_add(engine_t *e, const int16_t *pcm, int n);
int engine_prompt_remove(engine_t *e, int id);
int engine_prompt_samples(const engine_t *e, int id);
const engine_batch_t *engine_run(engine_t *e, int max_frames, int flags);
int engine_answer(engine_t *e, int ch);
int engine_seize(engine_t *e, int ch);
int engine_dial(engine_t *e, int ch, const char *digits);
int engine_flash(engine_t *e, int ch);
int engine_ring(engine_t *e, int ch, int cid_standard, int cid_when, const cid_info_t *cid);
int engine_hangup(engine_t *e, int ch);
int engine_play(engine_t *e, int ch, const play_item_t *items, int n, int loop, int interruptible);
int engine_stop(engine_t *e, int ch);
int engine_collect(engine_t *e, int ch, int max_digits, const char *terminators, int first_timeout_ms, int inter_timeout_ms);
int engine_collect_cancel(engine_t *e, int ch);
int engine_bridge(engine_t *e, int a, int b);
int engine_unbridge(engine_t *e, int ch);
int engine_tap(engine_t *e, int ch, int on);
int engine_detect(engine_t *e, int ch, int flags);
int engine_send_digits(engine_t *e, int ch, const char *digits, const dtmf_send_params_t *p);
