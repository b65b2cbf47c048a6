print('tour todo')
