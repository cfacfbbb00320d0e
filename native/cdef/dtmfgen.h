/* cffi declarations: dtmfgen.h */
typedef struct { float level_low; float level_high; float error_low; float error_high;
                 int32_t on_ms; int32_t off_ms; } dtmf_send_params_t;
