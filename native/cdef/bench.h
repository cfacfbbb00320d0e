/* cffi declarations: bench.h */
typedef struct { int32_t channels; int32_t frames; int32_t law; const char *plan;
                 const int16_t *heard; int32_t heard_len; const int16_t *played; int32_t played_len;
                 int32_t tone; } bench_work_t;
typedef struct { double cpu_s; int64_t digits; int64_t tones; int64_t hangups; uint32_t checksum; } bench_result_t;
int bench_baseline(const bench_work_t *w, bench_result_t *r);
int bench_engine(const bench_work_t *w, bench_result_t *r);
