/* Training checkpoints: read as given (magic, size and checksum checks) and
 * with the size and checksum trailer recomputed (the parser behind them). A
 * checkpoint that reads must hold a usable model, optimizer and state. */
#include <math.h>

#include "checkpoint.h"
#include "fuzz_common.h"
#include "model.h"
#include "potential_file.h"

static void read_and_check(const char *path) {
    gbnet_model *model = NULL;
    gb_optimizer opt;
    gb_train_state state;
    char *text = NULL;
    gbnet_status st = gb_checkpoint_read(path, &model, &opt, &state, &text);
    if (st != GBNET_OK) {
        if (model || text) __builtin_trap();
        fuzz_check_message(gbnet_last_error());
        return;
    }
    if (!model || !text || opt.n != model->layout.total) __builtin_trap();
    for (size_t i = 0; i < opt.n; ++i)
        if (!isfinite(model->params[i]) || !isfinite(opt.m[i]) || !isfinite(opt.v[i])) __builtin_trap();
    if (!isfinite(state.lr) || state.epoch < 0 || state.step < 0) __builtin_trap();
    free(text);
    gb_optimizer_free(&opt);
    gbnet_model_free(model);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_path(0, "train.ckpt");
    fuzz_write(path, data, size);
    read_and_check(path);
    if (size >= 8 + 16) {
        uint8_t *fixed = malloc(size);
        if (!fixed) return 0;
        memcpy(fixed, data, size);
        uint64_t total = size, sum;
        memcpy(fixed + size - 16, &total, 8);
        sum = gb_fnv1a64(fixed, size - 8);
        memcpy(fixed + size - 8, &sum, 8);
        fuzz_write(path, fixed, size);
        free(fixed);
        read_and_check(path);
    }
    return 0;
}
