/* cffi declarations: board.h, board_sim.h, linemodel.h */
enum chan_kind { KIND_NONE = 0, KIND_FXO = 1, KIND_FXS = 2, KIND_CO = 3, KIND_PHONE = 4 };
typedef struct board_s board_t;
enum hangup_signal { HANGUP_LOOP_BREAK = 0, HANGUP_POLARITY = 1, HANGUP_BUSY_TONE = 2 };
typedef struct { float loss_db; float noise_dbm0; int32_t echo_delay_ms;
                 float echo_return_loss_db; int32_t hangup_signal; } line_params_t;
void line_params_default(line_params_t *p);
board_t *board_sim_new(int nchannels, int audio);
int board_sim_connect(board_t *b, int port, int far, int port_kind, const line_params_t *p);
int board_sim_set_line(board_t *b, int port, const line_params_t *p);
int board_sim_alarm(board_t *b, int ch, int on);
void board_free(board_t *b);
